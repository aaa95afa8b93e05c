#version 330 core
// glmip projection shader: maximum (and minimum, mean, depth-cued) intensity projection.
//
// How it works. Each fragment is one image pixel and casts one ray through the volume. The
// samples of every ray lie on planes perpendicular to the view direction, u_sample_distance mm
// apart, the first plane through the voxel-centre corner nearest the eye (CONVENTIONS.md,
// "Samples along a ray"). In texture coordinates the k-th sample of a ray is simply A + k*B
// (a straight line), so the loop does no matrix work: the ray/box intersection gives the first
// and last k analytically, and the loop only adds B and fetches.
//
// Speed without changing the picture: the volume is covered by cells of GLMIP cells (a few
// voxels each) whose maximum and minimum real value, dilated by one cell, live in u_cells. A
// run of samples that stays within one cell's reach cannot exceed that cell's maximum; if the
// window maps that maximum to a grey level no higher than the ray's current one, the run is
// skipped (u_skip_mode 2). For quantitative output the comparison is on raw values instead
// (u_skip_mode 1), which keeps the exact maximum and its position. A ray that has reached the
// top of the window stops (u_early_exit).
//
// Output f_value: x = projected real value, y = distance along the ray (mm from the ray origin)
// of the maximum (MIP/depth) or minimum (MinIP) (for mean: the number of finite samples),
// z = 1 if the ray met any finite sample else 0, w = number of samples taken (for profiling).
//
//
// The uniforms it receives (the contract user shaders are written against) and the ray set-up
// are in lib/ray.glsl.


#if defined VERTEX_SHADER

#include "lib/fullscreen.glsl"

#elif defined FRAGMENT_SHADER

#include "lib/ray.glsl"

out vec4 f_value;

void main() {
    Ray ray = setup_ray();
    if (ray.k_first > ray.k_last) {
        f_value = combine(vec4(0.0, 0.0, 0.0, 0.0));
        return;
    }
    vec3 a = ray.a;
    vec3 b = ray.b;
    float k_first = ray.k_first;
    float k_last = ray.k_last;
    float phase = ray.phase;
    float t0 = ray.t0;
    float dt = ray.dt;

    bool minip = (GLMIP_MODE == 1);
    float best = minip ? INF : -INF;
    float best_k = k_first;
    float sum = 0.0;
    float count = 0.0;
    float taken = 0.0;
    float attenuation = 1.0;
    float atten_step = 1.0;
    if (GLMIP_MODE == 3) {
        // Depth cue: weight exp(-(distance from the sphere front) / length), a factor per sample.
        atten_step = exp(-u_sample_distance / u_depth_length);
        attenuation = exp(-(u_plane0 + (k_first + phase) * u_sample_distance - u_depth_front)
                          / u_depth_length);
    }

    // Runs of `run` samples: the skip test (and the early exit) is made once per run, the inner
    // loop stays tight. A run stays within reach of one cell (see the header).
    float run = k_last - k_first + 1.0;
    bool skipping = false;
    vec3 cell_scale = vec3(0.0);
    ivec3 cell_max = ivec3(0);
    if (GLMIP_SKIP != 0 && GLMIP_MODE != 2) {
        vec3 b_vox = abs(b * u_volume_size);
        run = floor((u_cell_size - 2.0) / max(max(b_vox.x, b_vox.y), max(b_vox.z, 1e-6))) + 1.0;
        skipping = run >= 2.0;
        cell_scale = u_volume_size / u_cell_size;
        cell_max = textureSize(u_cells, 0) - 1;
    }
    if (!skipping && GLMIP_EARLY_EXIT) run = 64.0;
    bool done = false;
    for (float k = k_first; k <= k_last && !done;) {
        float k_end = min(k + run - 1.0, k_last);
        if (skipping && !isinf(best)) {
            ivec3 c = clamp(ivec3((a + k * b) * cell_scale), ivec3(0), cell_max);
            vec2 cell = texelFetch(u_cells, c, 0).rg;
            bool no_gain = minip
                ? (GLMIP_SKIP == 2 ? grey(cell.y) >= grey(best) : cell.y >= best)
                : (GLMIP_SKIP == 2 ? grey(cell.x) <= grey(best) : cell.x <= best);
            if (no_gain) {
                attenuation *= pow(atten_step, k_end + 1.0 - k);
                k = k_end + 1.0;
                continue;
            }
        }
        // Positions are a + k*b, not a running sum: every path samples the same points.
        float k_start = k;
        if (GLMIP_MODE == 0) {  // plain MIP: the hot loop, kept minimal
            for (; k <= k_end; k += 1.0) {
                float v = real_value(a + k * b);
                if (v > best) { best = v; best_k = k; }
            }
            taken += k_end + 1.0 - k_start;
        } else {
            for (; k <= k_end; k += 1.0) {
                float v = real_value(a + k * b);
                if (GLMIP_MODE == 3) {
                    v = u_window.x + (v - u_window.x) * attenuation;
                    attenuation *= atten_step;
                }
                if (GLMIP_MODE == 2) {
                    if (!isnan(v)) { sum += v; count += 1.0; }
                } else if (minip ? v < best : v > best) {  // NaN compares false: ignored
                    best = v;
                    best_k = k;
                }
            }
            taken += k_end + 1.0 - k_start;
        }
        if (GLMIP_EARLY_EXIT && !isinf(best) && GLMIP_MODE != 2
            && (minip ? grey(best) <= 0.0 : grey(best) >= 255.0)) done = true;
    }

    if (GLMIP_MODE == 2) {
        f_value = combine(count > 0.0 ? vec4(sum / count, count, 1.0, taken) : vec4(0.0, 0.0, 0.0, taken));
        return;
    }
    if (isinf(best)) {
        f_value = combine(vec4(0.0, 0.0, 0.0, taken));
        return;
    }
    if (GLMIP_REFINE && GLMIP_MODE == 0) {
        // Look between the neighbours of the best sample for a higher value (14 points).
        float k0 = best_k;
        for (float s = -0.875; s <= 0.875; s += 0.125) {
            float k = k0 + s;
            if (s == 0.0 || k < k_first || k > k_last) continue;
            float v = real_value(a + k * b);
            if (v > best) { best = v; best_k = k; }
        }
    }
    f_value = combine(vec4(best, t0 + best_k * dt, 1.0, taken));
}

#endif
