(module
  (memory 256)
  (func (export "add") (param i32 i64) (result i64)
    (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1)))
  (func (export "div") (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1)))
  (func (export "spin") (loop $l (br $l)))
  (func (export "fill_loop") (loop $l
    (memory.fill (i32.const 0) (i32.const 0) (i32.const 16777216))
    (br $l)))
  (func (export "half") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5))))
