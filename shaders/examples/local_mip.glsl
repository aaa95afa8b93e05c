#version 330 core
// Local MIP (first hit): along each ray, the first local maximum above a threshold, instead of
// the global maximum. A vessel in front then hides the one behind it, as in a surface view,
// while the picture keeps MIP grey levels (Sato et al., Radiology 1998, "LMIP").
//
// How it works. lib/ray.glsl (included below) sets the ray up as the built-in shader does:
// sample k (ray.k_first..ray.k_last) sits at texture coordinate sample_tc(ray, k), from the eye's
// side. The threshold is THRESHOLD of
// the way up the window: u_window.x + THRESHOLD * (u_window.y - u_window.x), in real units, so
// --window/--level move it. Once a sample exceeds it, the ray keeps climbing while the values
// rise and stops at the first drop. A ray that never crosses the threshold falls back to its
// ordinary maximum (so dim background still shows). Output is f_value (x value, y distance in
// mm along the ray, z hit flag, w samples), and glmip's display pass does the rest.
//
// Try: glmip turntable aorta.mha -o lmip.gif --shader shaders/examples/local_mip.glsl

#define THRESHOLD 0.5

#if defined VERTEX_SHADER

#include "lib/fullscreen.glsl"

#elif defined FRAGMENT_SHADER

#include "lib/ray.glsl"

out vec4 f_value;

void main() {
    Ray ray = setup_ray();
    float threshold = u_window.x + THRESHOLD * (u_window.y - u_window.x);
    float best = -INF;
    float best_k = 0.0;
    bool climbing = false;
    float taken = 0.0;
    for (float k = ray.k_first; k <= ray.k_last; k += 1.0) {
        float v = real_value(sample_tc(ray, k));
        taken += 1.0;
        if (climbing) {
            if (v > best) { best = v; best_k = k; } else if (v < best) break;
        } else {
            if (v > best) { best = v; best_k = k; }
            if (v >= threshold) climbing = true;
        }
    }
    f_value = combine(isinf(best) ? vec4(0.0, 0.0, 0.0, taken)
                                  : vec4(best, ray.t0 + best_k * ray.dt, 1.0, taken));
}

#endif
