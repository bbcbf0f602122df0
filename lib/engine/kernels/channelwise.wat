;; Per-channel kernels on NHWC data: sums (and means) over the leading axes, as for bias gradients
;; and Batch Normalization's moments, a per-channel vector added, multiplied or subtracted, and
;; Batch Normalization itself.
;; Relaxed SIMD, working in place on the tfjs wasm backend's heap (imported as env.memory). Built
;; into channelwise_wasm.ts by `deno task build-wasm`; channelwise.ts calls it.
;;
;; Pointers and strides are in bytes; counts are in elements.
(module
  (import "env" "memory" (memory 1))

  ;; out[j] = (sum over r < rows of x[r*cols + j]) / $div, for j < cols; cols a multiple of 4
  ;; ($div: 1 for a sum, rows for a mean, the division done in float64).
  ;; Blocks of 64 rows are summed in float32 into $part (cols floats of scratch), each block's
  ;; sum is added to float64 totals in $total (cols doubles of scratch): the result is as
  ;; accurate as a float64 sum over all rows, at the speed of float32 SIMD.
  (func (export "sum_rows")
    (param $x i32) (param $out i32) (param $rows i32) (param $cols i32) (param $part i32) (param $total i32)
    (param $div f64)
    (local $r i32) (local $end i32) (local $j i32) (local $bytes i32) (local $row i32) (local $v v128)
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (memory.fill (local.get $total) (i32.const 0) (i32.shl (local.get $bytes) (i32.const 1)))
    (local.set $r (i32.const 0))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $end (i32.add (local.get $r) (i32.const 64)))
        (if (i32.gt_s (local.get $end) (local.get $rows)) (then (local.set $end (local.get $rows))))
        (memory.fill (local.get $part) (i32.const 0) (local.get $bytes))
        (loop $rowLoop
          (local.set $row (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $bytes))))
          (local.set $j (i32.const 0))
          (loop $cols
            (v128.store (i32.add (local.get $part) (local.get $j))
              (f32x4.add
                (v128.load (i32.add (local.get $part) (local.get $j)))
                (v128.load (i32.add (local.get $row) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br_if $cols (i32.lt_s (local.get $j) (local.get $bytes))))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $rowLoop (i32.lt_s (local.get $r) (local.get $end))))
        (local.set $j (i32.const 0))
        (loop $flush
          (local.set $v (v128.load (i32.add (local.get $part) (local.get $j))))
          (v128.store (i32.add (local.get $total) (i32.shl (local.get $j) (i32.const 1)))
            (f64x2.add
              (v128.load (i32.add (local.get $total) (i32.shl (local.get $j) (i32.const 1))))
              (f64x2.promote_low_f32x4 (local.get $v))))
          (v128.store offset=16 (i32.add (local.get $total) (i32.shl (local.get $j) (i32.const 1)))
            (f64x2.add
              (v128.load offset=16 (i32.add (local.get $total) (i32.shl (local.get $j) (i32.const 1))))
              (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $flush (i32.lt_s (local.get $j) (local.get $bytes))))
        (br $blocks)))
    (local.set $j (i32.const 0))
    (loop $write
      (v128.store64_lane 0 (i32.add (local.get $out) (local.get $j))
        (f32x4.demote_f64x2_zero
          (f64x2.div (v128.load (i32.add (local.get $total) (i32.shl (local.get $j) (i32.const 1))))
                     (f64x2.splat (local.get $div)))))
      (local.set $j (i32.add (local.get $j) (i32.const 8)))
      (br_if $write (i32.lt_s (local.get $j) (local.get $bytes)))))
  ;; out[r, j] = x[r, j] OP v[j] for $rows rows of $cols floats ($cols a multiple of 4): a
  ;; per-channel vector (a bias, Batch Normalization's scale or mean) applied along the channels
  ;; of NHWC data. $op: 0 x + v, 1 x * v, 2 x - v, 3 v - x.
  (func (export "channel_op")
    (param $out i32) (param $x i32) (param $v i32) (param $rows i32) (param $cols i32) (param $op i32)
    (local $j i32) (local $bytes i32) (local $a v128) (local $b v128)
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (block $done
      (loop $rowLoop
        (br_if $done (i32.eqz (local.get $rows)))
        (local.set $j (i32.const 0))
        (loop $colLoop
          (local.set $a (v128.load (i32.add (local.get $x) (local.get $j))))
          (local.set $b (v128.load (i32.add (local.get $v) (local.get $j))))
          (v128.store (i32.add (local.get $out) (local.get $j))
            (if (result v128) (i32.eqz (local.get $op))
              (then (f32x4.add (local.get $a) (local.get $b)))
              (else (if (result v128) (i32.eq (local.get $op) (i32.const 1))
                (then (f32x4.mul (local.get $a) (local.get $b)))
                (else (if (result v128) (i32.eq (local.get $op) (i32.const 2))
                  (then (f32x4.sub (local.get $a) (local.get $b)))
                  (else (f32x4.sub (local.get $b) (local.get $a)))))))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $colLoop (i32.lt_u (local.get $j) (local.get $bytes))))
        (local.set $out (i32.add (local.get $out) (local.get $bytes)))
        (local.set $x (i32.add (local.get $x) (local.get $bytes)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $rowLoop))))
  ;; out[r, j] = offset[j] + (x[r, j] - mean[j]) * scale[j] / norm[j] for $rows rows of $cols
  ;; floats ($cols a multiple of 4): Batch Normalization with per-channel statistics, $norm holding
  ;; $cols doubles, sqrt(variance[j] + epsilon) taken in float32. As tfjs' own wasm kernel (its
  ;; FusedBatchNorm as compiled in 4.22) does it, element by element: (x - mean) * scale in
  ;; float32, then the division and the offset in float64, rounded to float32 at the end; here
  ;; four at a time, bit for bit the same.
  (func (export "batch_norm")
    (param $out i32) (param $x i32) (param $mean i32) (param $scale i32) (param $offset i32)
    (param $norm i32) (param $rows i32) (param $cols i32)
    (local $j i32) (local $bytes i32) (local $t v128) (local $o v128) (local $n i32)
    (local $low v128) (local $high v128)
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (block $done
      (loop $rowLoop
        (br_if $done (i32.eqz (local.get $rows)))
        (local.set $j (i32.const 0))
        (loop $colLoop
          (local.set $t
            (f32x4.mul
              (f32x4.sub
                (v128.load (i32.add (local.get $x) (local.get $j)))
                (v128.load (i32.add (local.get $mean) (local.get $j))))
              (v128.load (i32.add (local.get $scale) (local.get $j)))))
          (local.set $o (v128.load (i32.add (local.get $offset) (local.get $j))))
          ;; Channels j..j+3 of norm, 8 bytes each: at 2 * j bytes.
          (local.set $n (i32.add (local.get $norm) (i32.shl (local.get $j) (i32.const 1))))
          (local.set $low
            (f32x4.demote_f64x2_zero
              (f64x2.add
                (f64x2.div (f64x2.promote_low_f32x4 (local.get $t)) (v128.load (local.get $n)))
                (f64x2.promote_low_f32x4 (local.get $o)))))
          (local.set $high
            (f32x4.demote_f64x2_zero
              (f64x2.add
                (f64x2.div
                  (f64x2.promote_low_f32x4
                    (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $t) (local.get $t)))
                  (v128.load offset=16 (local.get $n)))
                (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $o) (local.get $o))))))
          (v128.store (i32.add (local.get $out) (local.get $j))
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $low) (local.get $high)))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $colLoop (i32.lt_u (local.get $j) (local.get $bytes))))
        (local.set $out (i32.add (local.get $out) (local.get $bytes)))
        (local.set $x (i32.add (local.get $x) (local.get $bytes)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $rowLoop))))
)
