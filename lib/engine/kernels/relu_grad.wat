;; The ReLU gradient in one pass.
;; Relaxed SIMD, working in place on the tfjs wasm backend's heap (imported as env.memory). Built
;; into relu_grad_wasm.ts by `deno task build-wasm`; relu_grad.ts calls it.
;;
;; Pointers and strides are in bytes; counts are in elements.
(module
  (import "env" "memory" (memory 1))

  ;; out[i] = dy[i] * step(x[i]) for $n floats, exactly as tfjs computes the ReLU gradient
  ;; (step: 1 where x > 0, 0 elsewhere, NaN where x is NaN), in one pass instead of a Step, a
  ;; temporary and a Multiply. A tail of $n % 4 floats is done one at a time.
  (func (export "relu_grad")
    (param $out i32) (param $dy i32) (param $x i32) (param $n i32)
    (local $end i32) (local $vend i32) (local $v v128) (local $f f32)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $vend (i32.add (local.get $out) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vdone
      (loop $vec
        (br_if $vdone (i32.ge_u (local.get $out) (local.get $vend)))
        (local.set $v (v128.load (local.get $x)))
        (v128.store (local.get $out)
          (f32x4.mul (v128.load (local.get $dy))
            (v128.bitselect
              (local.get $v)
              (v128.and (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1))
              (f32x4.ne (local.get $v) (local.get $v)))))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (local.set $f (f32.load (local.get $x)))
        (f32.store (local.get $out)
          (f32.mul (f32.load (local.get $dy))
            (select (local.get $f)
              (select (f32.const 1) (f32.const 0) (f32.gt (local.get $f) (f32.const 0)))
              (f32.ne (local.get $f) (local.get $f)))))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $dy (i32.add (local.get $dy) (i32.const 4)))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (br $tail))))
)
