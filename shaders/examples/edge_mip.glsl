#version 330 core
// Edge-enhanced MIP: the maximum along each ray of  v + EDGE_GAIN * |grad v|,  so the walls of
// vessels and the rims of bright structures stand out against their flat interiors.
//
// How it works. lib/ray.glsl (included below) sets the ray up as the built-in shader does:
// sample k (ray.k_first..ray.k_last) sits at texture coordinate sample_tc(ray, k). At each sample
// the gradient is estimated by central
// differences one voxel apart along the three index axes (six extra fetches), in real units
// per voxel; its length, times EDGE_GAIN, is added to the value before taking the maximum.
// The result goes out as f_value (x value, y distance of the maximum along the ray in mm, z hit
// flag, w samples), so glmip's display pass applies --window/--level, --colormap and the rest as
// for any MIP. With EDGE_GAIN 0 this is the plain MIP.
//
// Try: glmip render carotid.vtk -o edges.png --view anterior --shader
// shaders/examples/edge_mip.glsl

#define EDGE_GAIN 1.0

#if defined VERTEX_SHADER

#include "lib/fullscreen.glsl"

#elif defined FRAGMENT_SHADER

#include "lib/ray.glsl"

out vec4 f_value;

float gradient_length(vec3 tc) {
    vec3 h = 1.0 / u_volume_size;  // one voxel along each texture axis
    vec3 g = vec3(real_value(tc + vec3(h.x, 0.0, 0.0)) - real_value(tc - vec3(h.x, 0.0, 0.0)),
                  real_value(tc + vec3(0.0, h.y, 0.0)) - real_value(tc - vec3(0.0, h.y, 0.0)),
                  real_value(tc + vec3(0.0, 0.0, h.z)) - real_value(tc - vec3(0.0, 0.0, h.z)));
    return 0.5 * length(g);
}

void main() {
    Ray ray = setup_ray();
    float best = -INF;
    float best_k = 0.0;
    for (float k = ray.k_first; k <= ray.k_last; k += 1.0) {
        vec3 tc = sample_tc(ray, k);
        float v = real_value(tc) + EDGE_GAIN * gradient_length(tc);
        if (v > best) { best = v; best_k = k; }  // NaN compares false: ignored
    }
    float taken = max(ray.k_last - ray.k_first + 1.0, 0.0);
    // combine() merges with the previous brick's result when the volume is split in bricks.
    f_value = combine(isinf(best) ? vec4(0.0, 0.0, 0.0, taken)
                                  : vec4(best, ray.t0 + best_k * ray.dt, 1.0, taken));
}

#endif
