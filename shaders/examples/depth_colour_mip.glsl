#version 330 core
// Depth-coloured MIP: the brightness of a pixel is the windowed MIP value, its hue says how
// deep the maximum lies (warm = near the eye, cool = far), so overlapping vessels separate.
//
// How it works. lib/ray.glsl (included below) sets the ray up as the built-in shader does:
// sample k (ray.k_first..ray.k_last) sits at texture coordinate sample_tc(ray, k) on the sample
// planes; we keep the largest real value
// and the k where it was found. Its depth is the view-axis coordinate of that sample measured
// from the front of the framing sphere (u_depth_front), divided by the sphere's diameter
// (u_depth_length, the default depth-cue length): 0 at the front, 1 at the back. Because the
// framing sphere does not change as the view turns, the colours are stable in a turntable.
//
// Declaring `out vec4 f_color` tells glmip that this shader writes final colours: the display
// pass copies them (window/level and colormap options are then this shader's business).
// Slab, crop and sample distance still apply: they are in the ray set-up.
//
// Try: glmip render aorta.mha -o depth.png --view anterior --shader
// shaders/examples/depth_colour_mip.glsl

#if defined VERTEX_SHADER

#include "lib/fullscreen.glsl"

#elif defined FRAGMENT_SHADER

#include "lib/ray.glsl"

out vec4 f_color;

vec3 depth_hue(float t) {
    vec3 near = vec3(1.0, 0.75, 0.25);
    vec3 mid = vec3(0.85, 0.25, 0.55);
    vec3 far = vec3(0.2, 0.45, 1.0);
    return t < 0.5 ? mix(near, mid, t * 2.0) : mix(mid, far, t * 2.0 - 1.0);
}

void main() {
    Ray ray = setup_ray();
    float best = -INF;
    float best_k = 0.0;
    for (float k = ray.k_first; k <= ray.k_last; k += 1.0) {
        float v = real_value(sample_tc(ray, k));
        if (v > best) { best = v; best_k = k; }  // NaN compares false: ignored
    }
    if (isinf(best)) {  // the ray missed the volume, or met only NaN
        f_color = vec4(0.0, 0.0, 0.0, 1.0);
        return;
    }
    float bright = clamp((best - u_window.x) / (u_window.y - u_window.x), 0.0, 1.0);
    float along = u_plane0 + (best_k + ray.phase) * u_sample_distance;  // view-axis coordinate
    float depth = (along - u_depth_front) / u_depth_length;
    f_color = vec4(bright * depth_hue(clamp(depth, 0.0, 1.0)), 1.0);
}

#endif
