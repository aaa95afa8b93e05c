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
// of the maximum (MIP/depth) or minimum (MinIP), z = 1 if the ray met any finite sample else 0,
// w = number of samples taken (for profiling).
//
// Uniform contract (also in docs/shaders.md; user shaders receive the same):
//   sampler3D u_volume        the volume, one channel; real value = texel * u_value_scale + u_value_offset
//   vec3  u_volume_size       voxels per axis (i, j, k)
//   mat4  u_world_to_tex      world RAS mm -> texture coordinates (0..1 across the full-voxel box)
//   mat4  u_tex_to_world      the inverse
//   vec3  u_center            world point at the image centre, on the plane through the focus
//   vec3  u_pixel_right       world vector (mm) from one column to the next
//   vec3  u_pixel_up          world vector (mm) from one row to the one above it
//   vec3  u_view_dir          unit viewing direction (eye -> scene)
//   vec2  u_image_size        full image in pixels (cols, rows)
//   vec2  u_pixel_offset      this tile's lower-left pixel in the full image (0,0 untiled)
//   bool  u_perspective       perspective rays from u_eye, else parallel rays along u_view_dir
//   vec3  u_eye               eye position (perspective)
//   float u_sample_distance   mm between sample planes
//   float u_plane0            view-axis coordinate (dot(x, u_view_dir)) of one sample plane
//   vec2  u_window            (lowest, highest) real value of the window
//   int   u_mode              0 mip, 1 minip, 2 mean, 3 depth-cued mip
//   vec2  u_slab              allowed range of dot(x, u_view_dir) (slab and the full range)
//   vec3  u_crop_lo, u_crop_hi  texture-space box that samples must lie in (inclusive)
//   float u_depth_front       view-axis coordinate of the front of the framing sphere
//   float u_depth_length      depth cue: mm over which brightness falls to 1/e
//   float u_jitter            0: exact planes; 1: per-pixel random phase (seeded by u_seed)
//   int   u_seed              frame number for the jitter
//   bool  u_refine            refine the maximum between samples
//   sampler3D u_cells         RG32F per-cell (max, min) real value, dilated by one cell
//   float u_cell_size         voxels per cell edge
//   int   u_skip_mode         0 none, 1 raw values, 2 output grey levels
//   bool  u_early_exit        stop a ray once it reaches the top (MIP) or bottom (MinIP) of the window

#if defined VERTEX_SHADER

void main() {
    // One triangle that covers the viewport.
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}

#elif defined FRAGMENT_SHADER

uniform sampler3D u_volume;
uniform float u_value_scale;
uniform float u_value_offset;
uniform vec3 u_volume_size;
uniform mat4 u_world_to_tex;
uniform vec3 u_center;
uniform vec3 u_pixel_right;
uniform vec3 u_pixel_up;
uniform vec3 u_view_dir;
uniform vec2 u_image_size;
uniform vec2 u_pixel_offset;
uniform bool u_perspective;
uniform vec3 u_eye;
uniform float u_sample_distance;
uniform float u_plane0;
uniform vec2 u_window;
uniform int u_mode;
uniform vec2 u_slab;
uniform vec3 u_crop_lo;
uniform vec3 u_crop_hi;
uniform float u_depth_front;
uniform float u_depth_length;
uniform float u_jitter;
uniform int u_seed;
uniform bool u_refine;
uniform sampler3D u_cells;
uniform float u_cell_size;
uniform int u_skip_mode;
uniform bool u_early_exit;

out vec4 f_value;

const float INF = 1.0 / 0.0;

float real_value(vec3 tc) {
    return texture(u_volume, tc).r * u_value_scale + u_value_offset;
}

// Output grey level (0..255) of a real value, as the display pass computes it.
float grey(float v) {
    return floor(clamp((v - u_window.x) / (u_window.y - u_window.x), 0.0, 1.0) * 255.0 + 0.5);
}

float hash(vec2 p, int seed) {
    vec3 q = fract(vec3(p.xyx + float(seed) * 17.0) * 0.1031);
    q += dot(q, q.yzx + 33.33);
    return fract((q.x + q.y) * q.z);
}

// Range [lo, hi] of k for which a + k*b lies in [box_lo, box_hi] on every axis.
vec2 box_range(vec3 a, vec3 b, vec3 box_lo, vec3 box_hi) {
    vec2 r = vec2(-INF, INF);
    for (int i = 0; i < 3; ++i) {
        if (abs(b[i]) < 1e-12) {
            if (a[i] < box_lo[i] || a[i] > box_hi[i]) return vec2(1.0, 0.0);
        } else {
            float t0 = (box_lo[i] - a[i]) / b[i];
            float t1 = (box_hi[i] - a[i]) / b[i];
            r.x = max(r.x, min(t0, t1));
            r.y = min(r.y, max(t0, t1));
        }
    }
    return r;
}

void main() {
    vec2 pix = gl_FragCoord.xy + u_pixel_offset - 0.5 * u_image_size;
    vec3 focus = u_center + pix.x * u_pixel_right + pix.y * u_pixel_up;
    vec3 origin = u_perspective ? u_eye : focus;
    vec3 dir = u_perspective ? normalize(focus - u_eye) : u_view_dir;

    // Ray parameter t (mm along dir) of sample k: its view-axis coordinate is plane0 + k*step.
    float cos_d = dot(dir, u_view_dir);
    float along0 = dot(origin, u_view_dir);
    float phase = u_jitter * hash(gl_FragCoord.xy, u_seed);
    float t0 = (u_plane0 + phase * u_sample_distance - along0) / cos_d;
    float dt = u_sample_distance / cos_d;
    vec3 a = (u_world_to_tex * vec4(origin + t0 * dir, 1.0)).xyz;
    vec3 b = (u_world_to_tex * vec4(dir * dt, 0.0)).xyz;

    vec2 kr = box_range(a, b, u_crop_lo, u_crop_hi);
    // Slab and depth limits: view-axis coordinate plane0 + (k + phase) * step within u_slab.
    float slab_lo = (u_slab.x - u_plane0) / u_sample_distance - phase;
    float slab_hi = (u_slab.y - u_plane0) / u_sample_distance - phase;
    float k_first = ceil(max(kr.x, slab_lo));
    float k_last = floor(min(kr.y, slab_hi));
    if (k_first > k_last) {
        f_value = vec4(0.0, 0.0, 0.0, 0.0);
        return;
    }

    bool minip = (u_mode == 1);
    float best = minip ? INF : -INF;
    float best_k = k_first;
    float sum = 0.0;
    float count = 0.0;
    float taken = 0.0;
    float attenuation = 1.0;
    // Depth cue: weight exp(-(distance from the sphere front) / length), a factor per sample.
    float atten_step = exp(-u_sample_distance / u_depth_length);
    if (u_mode == 3) {
        attenuation = exp(-(u_plane0 + (k_first + phase) * u_sample_distance - u_depth_front)
                          / u_depth_length);
    }

    // Samples per run that stay within reach of one cell (see the header).
    vec3 b_vox = abs(b * u_volume_size);
    float run = floor((u_cell_size - 2.0) / max(max(b_vox.x, b_vox.y), max(b_vox.z, 1e-6))) + 1.0;
    bool skipping = u_skip_mode != 0 && u_mode != 2 && run >= 2.0;
    float run_end = k_first;
    vec3 cell_scale = u_volume_size / u_cell_size;
    ivec3 cell_max = textureSize(u_cells, 0) - 1;

    // Runs of `run` samples: the skip test is made once per run, the inner loop stays tight.
    if (!skipping) run = u_early_exit ? 64.0 : k_last - k_first + 1.0;
    bool done = false;
    for (float k = k_first; k <= k_last && !done;) {
        float k_end = min(k + run - 1.0, k_last);
        if (skipping && !isinf(best)) {
            ivec3 c = clamp(ivec3((a + k * b) * cell_scale), ivec3(0), cell_max);
            vec2 cell = texelFetch(u_cells, c, 0).rg;
            bool no_gain = minip
                ? (u_skip_mode == 2 ? grey(cell.y) >= grey(best) : cell.y >= best)
                : (u_skip_mode == 2 ? grey(cell.x) <= grey(best) : cell.x <= best);
            if (no_gain) {
                attenuation *= pow(atten_step, k_end + 1.0 - k);
                k = k_end + 1.0;
                continue;
            }
        }
        // Positions are a + k*b, not a running sum: every path samples the same points.
        float k_start = k;
        if (u_mode == 0) {  // plain MIP: the hot loop, kept minimal
            for (; k <= k_end; k += 1.0) {
                float v = real_value(a + k * b);
                if (v > best) { best = v; best_k = k; }
            }
            taken += k_end + 1.0 - k_start;
        } else {
            for (; k <= k_end; k += 1.0) {
                float v = real_value(a + k * b);
                if (u_mode == 3) {
                    v = u_window.x + (v - u_window.x) * attenuation;
                    attenuation *= atten_step;
                }
                if (u_mode == 2) {
                    if (!isnan(v)) { sum += v; count += 1.0; }
                } else if (minip ? v < best : v > best) {  // NaN compares false: ignored
                    best = v;
                    best_k = k;
                }
            }
            taken += k_end + 1.0 - k_start;
        }
        if (u_early_exit && !isinf(best) && u_mode != 2
            && (minip ? grey(best) <= 0.0 : grey(best) >= 255.0)) done = true;
    }

    if (u_mode == 2) {
        f_value = count > 0.0 ? vec4(sum / count, 0.0, 1.0, taken) : vec4(0.0, 0.0, 0.0, taken);
        return;
    }
    if (isinf(best)) {
        f_value = vec4(0.0, 0.0, 0.0, taken);
        return;
    }
    if (u_refine && u_mode == 0) {
        // Look between the neighbours of the best sample for a higher value.
        for (float s = -0.875; s <= 0.875; s += 0.125) {
            float k = best_k + s;
            if (k < k_first || k > k_last) continue;
            float v = real_value(a + k * b);
            if (v > best) { best = v; best_k = k; }
        }
    }
    f_value = vec4(best, t0 + best_k * dt, 1.0, taken);
}

#endif
