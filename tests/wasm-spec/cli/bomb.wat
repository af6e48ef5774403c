(module
  (memory 1 1)
  (table 10000000 funcref)
  (table 10000000 funcref)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
