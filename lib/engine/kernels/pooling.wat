;; The 2x2, stride-2, unpadded max pool and its gradient, as the cpu backend computes them.
;; Relaxed SIMD, working in place on the tfjs wasm backend's heap (imported as env.memory). Built
;; into pooling_wasm.ts by `deno task build-wasm`; pooling.ts calls it.
;;
;; Pointers and strides are in bytes; counts are in elements.
(module
  (import "env" "memory" (memory 1))

  ;; The gradient of a 2x2, stride-2, unpadded max pool on NHWC data ($c a multiple of 4):
  ;; each window's dy goes to its FIRST cell equal to the window's max y, in row-major window
  ;; order (the cpu backend's choice), chosen with lane masks; windows whose max is -Infinity
  ;; get none, and a NaN max equals no cell. Rows/columns no window covers (odd $h, $w) are 0.
  (func (export "max_pool_grad_2x2")
    (param $dx i32) (param $x i32) (param $y i32) (param $dy i32)
    (param $batch i32) (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
    (local $b i32) (local $r i32) (local $col i32) (local $d i32) (local $cb i32) (local $rowB i32)
    (local $o i32) (local $p i32) (local $q i32)
    (local $t v128) (local $g v128) (local $e0 v128) (local $e1 v128) (local $e2 v128) (local $e3 v128)
    (local $seen v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rowB (i32.mul (local.get $w) (local.get $cb)))
    (if (i32.or (i32.ne (i32.shl (local.get $oh) (i32.const 1)) (local.get $h))
                (i32.ne (i32.shl (local.get $ow) (i32.const 1)) (local.get $w)))
      (then (memory.fill (local.get $dx) (i32.const 0)
        (i32.mul (i32.mul (local.get $batch) (local.get $h)) (local.get $rowB)))))
    (local.set $o (i32.const 0))
    (local.set $b (i32.const 0))
    (loop $batches
      (local.set $r (i32.const 0))
      (loop $rows
        (local.set $col (i32.const 0))
        (loop $cols
          ;; byte offset of the window's top-left cell
          (local.set $p (i32.add
            (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.shl (local.get $r) (i32.const 1)))
                     (local.get $rowB))
            (i32.mul (i32.shl (local.get $col) (i32.const 1)) (local.get $cb))))
          (local.set $d (i32.const 0))
          (loop $channels
            (local.set $q (i32.add (local.get $p) (local.get $d)))
            (local.set $t (v128.load (i32.add (local.get $y) (local.get $o))))
            (local.set $g (v128.andnot (v128.load (i32.add (local.get $dy) (local.get $o)))
              (f32x4.eq (local.get $t) (v128.const f32x4 -inf -inf -inf -inf))))
            (local.set $e0 (f32x4.eq (v128.load (i32.add (local.get $x) (local.get $q))) (local.get $t)))
            (local.set $e1 (f32x4.eq
              (v128.load (i32.add (local.get $x) (i32.add (local.get $q) (local.get $cb)))) (local.get $t)))
            (local.set $e2 (f32x4.eq
              (v128.load (i32.add (local.get $x) (i32.add (local.get $q) (local.get $rowB)))) (local.get $t)))
            (local.set $e3 (f32x4.eq
              (v128.load (i32.add (local.get $x)
                (i32.add (i32.add (local.get $q) (local.get $rowB)) (local.get $cb)))) (local.get $t)))
            (v128.store (i32.add (local.get $dx) (local.get $q)) (v128.and (local.get $g) (local.get $e0)))
            (local.set $seen (local.get $e0))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $q) (local.get $cb)))
              (v128.and (local.get $g) (v128.andnot (local.get $e1) (local.get $seen))))
            (local.set $seen (v128.or (local.get $seen) (local.get $e1)))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $q) (local.get $rowB)))
              (v128.and (local.get $g) (v128.andnot (local.get $e2) (local.get $seen))))
            (local.set $seen (v128.or (local.get $seen) (local.get $e2)))
            (v128.store (i32.add (local.get $dx) (i32.add (i32.add (local.get $q) (local.get $rowB)) (local.get $cb)))
              (v128.and (local.get $g) (v128.andnot (local.get $e3) (local.get $seen))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (br_if $channels (i32.lt_s (local.get $d) (local.get $cb))))
          (local.set $col (i32.add (local.get $col) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $col) (local.get $ow))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $r) (local.get $oh))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batches (i32.lt_s (local.get $b) (local.get $batch)))))

  ;; A 2x2, stride-2, unpadded max pool on NHWC data ($c a multiple of 4), as the cpu backend
  ;; computes it: each window's cells in row-major order, a cell replacing the running max
  ;; (from -Infinity) only when greater (pmax), so NaN is skipped and the first of equal cells
  ;; is kept. A last row/column no window covers (odd $h, $w) is ignored.
  (func (export "max_pool_2x2")
    (param $y i32) (param $x i32)
    (param $batch i32) (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
    (local $b i32) (local $r i32) (local $col i32) (local $d i32) (local $cb i32) (local $rowB i32)
    (local $p i32) (local $q i32) (local $m v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rowB (i32.mul (local.get $w) (local.get $cb)))
    (local.set $b (i32.const 0))
    (loop $batches
      (local.set $r (i32.const 0))
      (loop $rows
        (local.set $col (i32.const 0))
        (loop $cols
          (local.set $p (i32.add (local.get $x) (i32.add
            (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.shl (local.get $r) (i32.const 1)))
                     (local.get $rowB))
            (i32.mul (i32.shl (local.get $col) (i32.const 1)) (local.get $cb)))))
          (local.set $d (i32.const 0))
          (loop $channels
            (local.set $q (i32.add (local.get $p) (local.get $d)))
            (local.set $m (f32x4.pmax (v128.const f32x4 -inf -inf -inf -inf) (v128.load (local.get $q))))
            (local.set $m (f32x4.pmax (local.get $m)
              (v128.load (i32.add (local.get $q) (local.get $cb)))))
            (local.set $m (f32x4.pmax (local.get $m)
              (v128.load (i32.add (local.get $q) (local.get $rowB)))))
            (local.set $m (f32x4.pmax (local.get $m)
              (v128.load (i32.add (i32.add (local.get $q) (local.get $rowB)) (local.get $cb)))))
            (v128.store (local.get $y) (local.get $m))
            (local.set $y (i32.add (local.get $y) (i32.const 16)))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (br_if $channels (i32.lt_s (local.get $d) (local.get $cb))))
          (local.set $col (i32.add (local.get $col) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $col) (local.get $ow))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $r) (local.get $oh))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batches (i32.lt_s (local.get $b) (local.get $batch)))))
)
