;; Matrix products for the dense layers and the filter gradients computed as one GEMM: B packed
;; into panels of 8 columns, a 4x8-tile GEMM that reads a transposed A in place, and the im2col
;; patches of a stride-1 convolution (the GEMM's left operand).
;; Relaxed SIMD, working in place on the tfjs wasm backend's heap (imported as env.memory). Built
;; into matmul_wasm.ts by `deno task build-wasm`; matmul.ts calls it.
;;
;; Pointers and strides are in bytes; counts are in elements.
(module
  (import "env" "memory" (memory 1))

  ;; Packs B' ([k, n], B'(kk, j) at $src + kk*$sk + j*$sj) into panels of 8 columns:
  ;; $dst + p*k*32 + kk*32 + jj*4 holds B'(kk, 8p + jj), zero past column n. Any layout of B
  ;; (transposed or not) becomes rows of 8 contiguous floats for the GEMM's inner loop.
  (func (export "pack_b")
    (param $src i32) (param $dst i32) (param $k i32) (param $n i32) (param $sk i32) (param $sj i32)
    (local $p i32) (local $kk i32) (local $jj i32) (local $col i32) (local $from i32)
    (local.set $p (i32.const 0))
    (block $panelsDone
      (loop $panels
        (br_if $panelsDone (i32.ge_s (i32.shl (local.get $p) (i32.const 3)) (local.get $n)))
        (local.set $jj (i32.const 0))
        (loop $cols
          (local.set $col (i32.add (i32.shl (local.get $p) (i32.const 3)) (local.get $jj)))
          (local.set $from (i32.add (local.get $src) (i32.mul (local.get $col) (local.get $sj))))
          (local.set $kk (i32.const 0))
          (if (i32.lt_s (local.get $col) (local.get $n))
            (then
              (loop $rows
                (f32.store
                  (i32.add (local.get $dst)
                    (i32.add (i32.shl (local.get $kk) (i32.const 5)) (i32.shl (local.get $jj) (i32.const 2))))
                  (f32.load (local.get $from)))
                (local.set $from (i32.add (local.get $from) (local.get $sk)))
                (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
                (br_if $rows (i32.lt_s (local.get $kk) (local.get $k)))))
            (else
              (loop $zeros
                (f32.store
                  (i32.add (local.get $dst)
                    (i32.add (i32.shl (local.get $kk) (i32.const 5)) (i32.shl (local.get $jj) (i32.const 2))))
                  (f32.const 0))
                (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
                (br_if $zeros (i32.lt_s (local.get $kk) (local.get $k))))))
          (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $jj) (i32.const 8))))
        (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $k) (i32.const 5))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $panels))))

  ;; Stores the 8 floats of a tile row (lo, hi) at $at, or adds them to what is there when
  ;; $acc is not 0: all of them, or the first $valid ones through $tmp (32 bytes of scratch)
  ;; when the row ends inside the panel.
  (func $storeRow
    (param $at i32) (param $lo v128) (param $hi v128) (param $valid i32) (param $tmp i32) (param $acc i32)
    (local $j i32) (local $to i32)
    (if (i32.eq (local.get $valid) (i32.const 8))
      (then
        (if (local.get $acc)
          (then
            (local.set $lo (f32x4.add (local.get $lo) (v128.load (local.get $at))))
            (local.set $hi (f32x4.add (local.get $hi) (v128.load offset=16 (local.get $at))))))
        (v128.store (local.get $at) (local.get $lo))
        (v128.store offset=16 (local.get $at) (local.get $hi))
        (return)))
    (v128.store (local.get $tmp) (local.get $lo))
    (v128.store offset=16 (local.get $tmp) (local.get $hi))
    (local.set $j (i32.const 0))
    (loop $copy
      (local.set $to (i32.add (local.get $at) (i32.shl (local.get $j) (i32.const 2))))
      (f32.store (local.get $to)
        (f32.add
          (f32.load (i32.add (local.get $tmp) (i32.shl (local.get $j) (i32.const 2))))
          (if (result f32) (local.get $acc)
            (then (f32.load (local.get $to)))
            (else (f32.const 0)))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $copy (i32.lt_s (local.get $j) (local.get $valid)))))

  ;; C[m, n] (row-major at $c) = A'[m, k] . B'[k, n], k >= 1; with $acc not 0, C += A'.B'.
  ;; A'(i, kk) is at $a + i*$si + kk*$sk: a transposed A is only other strides.
  ;; B' comes in panels of 8 columns: panel p at $b + p*$sp, its row kk at + kk*$sr (8 floats;
  ;; past column n they are read but not stored). Packed B: $sp = k*32, $sr = 32; an untransposed
  ;; B whose n is a multiple of 8 is used as it is: $sp = 32, $sr = n*4.
  ;; Tiles of 4 rows x 8 columns (8 accumulators); leftover rows one at a time.
  ;; $tmp: 32 bytes of scratch for the last panel's partial rows.
  (func (export "gemm")
    (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $n i32) (param $k i32)
    (param $si i32) (param $sk i32) (param $sp i32) (param $sr i32) (param $tmp i32) (param $acc i32)
    (local $p i32) (local $i i32) (local $kk i32) (local $valid i32) (local $ldc i32)
    (local $bp i32) (local $bPanel i32) (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
    (local $cp i32)
    (local $b0 v128) (local $b1 v128) (local $s v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $ldc (i32.shl (local.get $n) (i32.const 2)))
    (local.set $p (i32.const 0))
    (block $panelsDone
      (loop $panels
        (br_if $panelsDone (i32.ge_s (i32.shl (local.get $p) (i32.const 3)) (local.get $n)))
        (local.set $valid (i32.sub (local.get $n) (i32.shl (local.get $p) (i32.const 3))))
        (if (i32.gt_s (local.get $valid) (i32.const 8)) (then (local.set $valid (i32.const 8))))
        (local.set $bPanel (i32.add (local.get $b) (i32.mul (local.get $p) (local.get $sp))))
        (local.set $i (i32.const 0))
        (block $tilesDone
          (loop $tiles
            (br_if $tilesDone (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $m)))
            (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $si))))
            (local.set $a1 (i32.add (local.get $a0) (local.get $si)))
            (local.set $a2 (i32.add (local.get $a1) (local.get $si)))
            (local.set $a3 (i32.add (local.get $a2) (local.get $si)))
            (local.set $bp (local.get $bPanel))
            (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
            (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
            (local.set $kk (local.get $k))
            (loop $inner
              (local.set $b0 (v128.load (local.get $bp)))
              (local.set $b1 (v128.load offset=16 (local.get $bp)))
              (local.set $s (v128.load32_splat (local.get $a0)))
              (local.set $c00 (f32x4.relaxed_madd (local.get $s) (local.get $b0) (local.get $c00)))
              (local.set $c01 (f32x4.relaxed_madd (local.get $s) (local.get $b1) (local.get $c01)))
              (local.set $s (v128.load32_splat (local.get $a1)))
              (local.set $c10 (f32x4.relaxed_madd (local.get $s) (local.get $b0) (local.get $c10)))
              (local.set $c11 (f32x4.relaxed_madd (local.get $s) (local.get $b1) (local.get $c11)))
              (local.set $s (v128.load32_splat (local.get $a2)))
              (local.set $c20 (f32x4.relaxed_madd (local.get $s) (local.get $b0) (local.get $c20)))
              (local.set $c21 (f32x4.relaxed_madd (local.get $s) (local.get $b1) (local.get $c21)))
              (local.set $s (v128.load32_splat (local.get $a3)))
              (local.set $c30 (f32x4.relaxed_madd (local.get $s) (local.get $b0) (local.get $c30)))
              (local.set $c31 (f32x4.relaxed_madd (local.get $s) (local.get $b1) (local.get $c31)))
              (local.set $a0 (i32.add (local.get $a0) (local.get $sk)))
              (local.set $a1 (i32.add (local.get $a1) (local.get $sk)))
              (local.set $a2 (i32.add (local.get $a2) (local.get $sk)))
              (local.set $a3 (i32.add (local.get $a3) (local.get $sk)))
              (local.set $bp (i32.add (local.get $bp) (local.get $sr)))
              (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
              (br_if $inner (local.get $kk)))
            (local.set $cp (i32.add (local.get $c)
              (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $p) (i32.const 5)))))
            (call $storeRow (local.get $cp) (local.get $c00) (local.get $c01) (local.get $valid) (local.get $tmp) (local.get $acc))
            (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
            (call $storeRow (local.get $cp) (local.get $c10) (local.get $c11) (local.get $valid) (local.get $tmp) (local.get $acc))
            (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
            (call $storeRow (local.get $cp) (local.get $c20) (local.get $c21) (local.get $valid) (local.get $tmp) (local.get $acc))
            (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
            (call $storeRow (local.get $cp) (local.get $c30) (local.get $c31) (local.get $valid) (local.get $tmp) (local.get $acc))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $tiles)))
        ;; leftover rows
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_s (local.get $i) (local.get $m)))
            (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $si))))
            (local.set $bp (local.get $bPanel))
            (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $kk (local.get $k))
            (loop $inner1
              (local.set $s (v128.load32_splat (local.get $a0)))
              (local.set $c00 (f32x4.relaxed_madd (local.get $s) (v128.load (local.get $bp)) (local.get $c00)))
              (local.set $c01
                (f32x4.relaxed_madd (local.get $s) (v128.load offset=16 (local.get $bp)) (local.get $c01)))
              (local.set $a0 (i32.add (local.get $a0) (local.get $sk)))
              (local.set $bp (i32.add (local.get $bp) (local.get $sr)))
              (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
              (br_if $inner1 (local.get $kk)))
            (local.set $cp (i32.add (local.get $c)
              (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $p) (i32.const 5)))))
            (call $storeRow (local.get $cp) (local.get $c00) (local.get $c01) (local.get $valid) (local.get $tmp) (local.get $acc))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $rows)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $panels))))

  ;; Patches of a stride-1 convolution: out[(b, r, q), (i, j, d)] = x[b, r + i - $pt, q + j - $pl, d]
  ;; (0 outside the image) for the $oh x $ow output pixels of each of $n images [$h, $w, $c] and
  ;; the $kh x $kw taps: the left operand of a filter gradient computed as one GEMM.
  (func (export "im2col")
    (param $x i32) (param $out i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32)
    (param $kh i32) (param $kw i32) (param $oh i32) (param $ow i32) (param $pt i32) (param $pl i32)
    (local $b i32) (local $r i32) (local $q i32) (local $i i32) (local $j i32) (local $d i32)
    (local $row i32) (local $col i32) (local $from i32) (local $cb i32) (local $pix i32)
    (local $rowOut i32) (local $to i32) (local $rowIn i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $pix (i32.mul (i32.mul (local.get $kh) (local.get $kw)) (local.get $cb)))
    (local.set $rowOut (local.get $out))
    (local.set $b (i32.const 0))
    (loop $images
      (local.set $r (i32.const 0))
      (loop $rows
        ;; For one tap (i, j) of one output row, the inputs are one input row read left to
        ;; right, written down a column of the patch matrix.
        (local.set $i (i32.const 0))
        (loop $tapRows
          (local.set $row (i32.sub (i32.add (local.get $r) (local.get $i)) (local.get $pt)))
          (local.set $rowIn (i32.add (local.get $x)
            (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (local.get $row))
                     (i32.mul (local.get $w) (local.get $cb)))))
          (local.set $j (i32.const 0))
          (loop $tapCols
            (local.set $to (i32.add (local.get $rowOut)
              (i32.mul (i32.add (i32.mul (local.get $i) (local.get $kw)) (local.get $j)) (local.get $cb))))
            (local.set $col (i32.sub (local.get $j) (local.get $pl)))
            (local.set $q (i32.const 0))
            (if (i32.and (i32.lt_u (local.get $row) (local.get $h)) (i32.eq (local.get $c) (i32.const 1)))
              (then
                ;; One channel, a row inside the image: a strided copy, zeros at both ends.
                (local.set $from (i32.add (local.get $rowIn) (i32.shl (local.get $col) (i32.const 2))))
                (loop $cols1
                  (f32.store (local.get $to)
                    (if (result f32) (i32.lt_u (local.get $col) (local.get $w))
                      (then (f32.load (local.get $from)))
                      (else (f32.const 0))))
                  (local.set $to (i32.add (local.get $to) (local.get $pix)))
                  (local.set $from (i32.add (local.get $from) (i32.const 4)))
                  (local.set $col (i32.add (local.get $col) (i32.const 1)))
                  (local.set $q (i32.add (local.get $q) (i32.const 1)))
                  (br_if $cols1 (i32.lt_s (local.get $q) (local.get $ow)))))
              (else
                (loop $cols
                  (if (i32.and
                        (i32.lt_u (local.get $row) (local.get $h))
                        (i32.lt_u (local.get $col) (local.get $w)))
                    (then
                      (local.set $from (i32.add (local.get $rowIn) (i32.mul (local.get $col) (local.get $cb))))
                      (local.set $d (i32.const 0))
                      (loop $channels
                        (f32.store (i32.add (local.get $to) (local.get $d))
                          (f32.load (i32.add (local.get $from) (local.get $d))))
                        (local.set $d (i32.add (local.get $d) (i32.const 4)))
                        (br_if $channels (i32.lt_s (local.get $d) (local.get $cb)))))
                    (else (memory.fill (local.get $to) (i32.const 0) (local.get $cb))))
                  (local.set $to (i32.add (local.get $to) (local.get $pix)))
                  (local.set $col (i32.add (local.get $col) (i32.const 1)))
                  (local.set $q (i32.add (local.get $q) (i32.const 1)))
                  (br_if $cols (i32.lt_s (local.get $q) (local.get $ow))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br_if $tapCols (i32.lt_s (local.get $j) (local.get $kw))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $tapRows (i32.lt_s (local.get $i) (local.get $kh))))
        (local.set $rowOut (i32.add (local.get $rowOut) (i32.mul (local.get $ow) (local.get $pix))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $r) (local.get $oh))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $images (i32.lt_s (local.get $b) (local.get $n)))))
)
