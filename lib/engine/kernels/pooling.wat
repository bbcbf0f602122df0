;; The 2x2, stride-2, unpadded max pool and its gradient, as the cpu backend computes them, alone
;; or after a per-channel bias and ReLU (a convolution layer's bias and activation, fused).
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
  ;; y = max_pool_2x2(relu(x + bias)) on NHWC data ($c a multiple of 4), bit for bit the three
  ;; kernels one after the other: our per-channel Add (x + bias), the stock Relu and max_pool_2x2
  ;; above, without writing the two full-size tensors in between. The stock Relu (XNNPACK's) takes
  ;; the larger of the float's bits and 0 as signed integers: every value with its sign bit set
  ;; (negatives, -0, -Infinity, a NaN with the sign set) gives +0, and a NaN without it stays.
  (func (export "bias_relu_max_pool_2x2")
    (param $y i32) (param $x i32) (param $bias i32)
    (param $batch i32) (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
    (local $b i32) (local $r i32) (local $col i32) (local $d i32) (local $cb i32) (local $rowB i32)
    (local $p i32) (local $q i32) (local $m v128) (local $bv v128)
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
            (local.set $bv (v128.load (i32.add (local.get $bias) (local.get $d))))
            (local.set $m (f32x4.pmax (v128.const f32x4 -inf -inf -inf -inf)
              (i32x4.max_s (v128.const i32x4 0 0 0 0)
                (f32x4.add (v128.load (local.get $q)) (local.get $bv)))))
            (local.set $m (f32x4.pmax (local.get $m)
              (i32x4.max_s (v128.const i32x4 0 0 0 0)
                (f32x4.add (v128.load (i32.add (local.get $q) (local.get $cb))) (local.get $bv)))))
            (local.set $m (f32x4.pmax (local.get $m)
              (i32x4.max_s (v128.const i32x4 0 0 0 0)
                (f32x4.add (v128.load (i32.add (local.get $q) (local.get $rowB))) (local.get $bv)))))
            (local.set $m (f32x4.pmax (local.get $m)
              (i32x4.max_s (v128.const i32x4 0 0 0 0)
                (f32x4.add (v128.load (i32.add (i32.add (local.get $q) (local.get $rowB)) (local.get $cb)))
                  (local.get $bv)))))
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

  ;; step(v) as relu_grad.wat takes it: 1 where v > 0, NaN where v is NaN, 0 elsewhere. For the
  ;; uncovered edges; the hot loop below writes it out.
  (func $step (param $v v128) (result v128)
    (v128.bitselect
      (local.get $v)
      (v128.and (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1))
      (f32x4.ne (local.get $v) (local.get $v))))

  ;; The gradient of bias_relu_max_pool_2x2 with respect to x (the same for the bias, summed),
  ;; bit for bit max_pool_grad_2x2 then relu_grad.wat's relu_grad: with v = x + bias and
  ;; r = relu(v), each window's dy goes to its first cell whose r equals the window's max (none
  ;; when the max is -Infinity), and every cell's value is then multiplied by step(v). Rows and
  ;; columns no window covers (odd $h, $w) get 0 * step(v). x and bias are the forward's; the
  ;; window max is computed again rather than read.
  (func (export "bias_relu_max_pool_grad_2x2")
    (param $dx i32) (param $x i32) (param $bias i32) (param $dy i32)
    (param $batch i32) (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
    (local $b i32) (local $r i32) (local $col i32) (local $d i32) (local $cb i32) (local $rowB i32)
    (local $o i32) (local $p i32) (local $q i32) (local $bv v128)
    (local $v v128) (local $t v128) (local $g v128) (local $e v128) (local $seen v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rowB (i32.mul (local.get $w) (local.get $cb)))
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
            (local.set $bv (v128.load (i32.add (local.get $bias) (local.get $d))))
            ;; the window's max after the ReLU, as max_pool_2x2 takes it
            (local.set $t (v128.const f32x4 -inf -inf -inf -inf))
            (local.set $t (f32x4.pmax (local.get $t) (i32x4.max_s (f32x4.add (v128.load (i32.add (local.get $x) (local.get $q))) (local.get $bv)) (v128.const i32x4 0 0 0 0))))
            (local.set $t (f32x4.pmax (local.get $t) (i32x4.max_s (f32x4.add (v128.load (i32.add (local.get $x) (i32.add (local.get $q) (local.get $cb)))) (local.get $bv)) (v128.const i32x4 0 0 0 0))))
            (local.set $t (f32x4.pmax (local.get $t) (i32x4.max_s (f32x4.add (v128.load (i32.add (local.get $x) (i32.add (local.get $q) (local.get $rowB)))) (local.get $bv)) (v128.const i32x4 0 0 0 0))))
            (local.set $t (f32x4.pmax (local.get $t) (i32x4.max_s (f32x4.add (v128.load (i32.add (local.get $x) (i32.add (i32.add (local.get $q) (local.get $rowB)) (local.get $cb)))) (local.get $bv)) (v128.const i32x4 0 0 0 0))))
            (local.set $g (v128.andnot (v128.load (i32.add (local.get $dy) (local.get $o)))
              (f32x4.eq (local.get $t) (v128.const f32x4 -inf -inf -inf -inf))))
            ;; each cell again: dy where it is the first equal to the max, times step(v), written
            ;; out rather than a (call $step): V8 does not inline it, and the calls made this
            ;; loop 1.6-1.7x slower (2026-12-08, 64x26x26x32, least of 60 calls alternating).
            (local.set $seen (v128.const i32x4 0 0 0 0))
            (local.set $v (f32x4.add (v128.load (i32.add (local.get $x) (local.get $q))) (local.get $bv)))
            (local.set $e (f32x4.eq (i32x4.max_s (local.get $v) (v128.const i32x4 0 0 0 0)) (local.get $t)))
            (v128.store (i32.add (local.get $dx) (local.get $q))
              (f32x4.mul (v128.and (local.get $g) (v128.andnot (local.get $e) (local.get $seen)))
                (v128.bitselect (local.get $v)
                  (v128.and (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1))
                  (f32x4.ne (local.get $v) (local.get $v)))))
            (local.set $seen (v128.or (local.get $seen) (local.get $e)))
            (local.set $v (f32x4.add (v128.load (i32.add (local.get $x) (i32.add (local.get $q) (local.get $cb)))) (local.get $bv)))
            (local.set $e (f32x4.eq (i32x4.max_s (local.get $v) (v128.const i32x4 0 0 0 0)) (local.get $t)))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $q) (local.get $cb)))
              (f32x4.mul (v128.and (local.get $g) (v128.andnot (local.get $e) (local.get $seen)))
                (v128.bitselect (local.get $v)
                  (v128.and (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1))
                  (f32x4.ne (local.get $v) (local.get $v)))))
            (local.set $seen (v128.or (local.get $seen) (local.get $e)))
            (local.set $v (f32x4.add (v128.load (i32.add (local.get $x) (i32.add (local.get $q) (local.get $rowB)))) (local.get $bv)))
            (local.set $e (f32x4.eq (i32x4.max_s (local.get $v) (v128.const i32x4 0 0 0 0)) (local.get $t)))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $q) (local.get $rowB)))
              (f32x4.mul (v128.and (local.get $g) (v128.andnot (local.get $e) (local.get $seen)))
                (v128.bitselect (local.get $v)
                  (v128.and (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1))
                  (f32x4.ne (local.get $v) (local.get $v)))))
            (local.set $seen (v128.or (local.get $seen) (local.get $e)))
            (local.set $v (f32x4.add (v128.load (i32.add (local.get $x) (i32.add (i32.add (local.get $q) (local.get $rowB)) (local.get $cb)))) (local.get $bv)))
            (local.set $e (f32x4.eq (i32x4.max_s (local.get $v) (v128.const i32x4 0 0 0 0)) (local.get $t)))
            (v128.store (i32.add (local.get $dx) (i32.add (i32.add (local.get $q) (local.get $rowB)) (local.get $cb)))
              (f32x4.mul (v128.and (local.get $g) (v128.andnot (local.get $e) (local.get $seen)))
                (v128.bitselect (local.get $v)
                  (v128.and (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1))
                  (f32x4.ne (local.get $v) (local.get $v)))))
            (local.set $seen (v128.or (local.get $seen) (local.get $e)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (br_if $channels (i32.lt_s (local.get $d) (local.get $cb))))
          (local.set $col (i32.add (local.get $col) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $col) (local.get $ow))))
        ;; an odd width: the last column of these two rows, which no window covers
        (if (i32.ne (i32.shl (local.get $ow) (i32.const 1)) (local.get $w))
          (then
            (call $uncovered (local.get $dx) (local.get $x) (local.get $bias)
              (i32.add
                (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.shl (local.get $r) (i32.const 1)))
                         (local.get $rowB))
                (i32.mul (i32.shl (local.get $ow) (i32.const 1)) (local.get $cb)))
              (local.get $cb) (local.get $cb))
            (call $uncovered (local.get $dx) (local.get $x) (local.get $bias)
              (i32.add
                (i32.mul (i32.add (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.shl (local.get $r) (i32.const 1))) (i32.const 1))
                         (local.get $rowB))
                (i32.mul (i32.shl (local.get $ow) (i32.const 1)) (local.get $cb)))
              (local.get $cb) (local.get $cb))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $r) (local.get $oh))))
      ;; an odd height: the image's last row, which no window covers
      (if (i32.ne (i32.shl (local.get $oh) (i32.const 1)) (local.get $h))
        (then
          (call $uncovered (local.get $dx) (local.get $x) (local.get $bias)
            (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.sub (local.get $h) (i32.const 1)))
                     (local.get $rowB))
            (local.get $rowB) (local.get $cb))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batches (i32.lt_s (local.get $b) (local.get $batch)))))

  ;; dx = 0 * step(x + bias) over $bytes bytes from byte offset $at, whole pixels of $cb bytes
  ;; (the bias starts again at every pixel).
  (func $uncovered (param $dx i32) (param $x i32) (param $bias i32) (param $at i32) (param $bytes i32)
    (param $cb i32)
    (local $end i32) (local $d i32)
    (local.set $end (i32.add (local.get $at) (local.get $bytes)))
    (block $done
      (loop $cells
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (v128.store (i32.add (local.get $dx) (local.get $at))
          (f32x4.mul (v128.const f32x4 0 0 0 0)
            (call $step (f32x4.add (v128.load (i32.add (local.get $x) (local.get $at)))
              (v128.load (i32.add (local.get $bias) (local.get $d)))))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (if (i32.eq (local.get $d) (local.get $cb)) (then (local.set $d (i32.const 0))))
        (br $cells))))
)
