# WebAssembly engine. interp.c uses computed goto (a GNU C extension,
# selected by __GNUC__); -std=c11 without -pedantic accepts it, so the
# engine needs no extra flags. fastn-wasm itself is built by the Makefile.

