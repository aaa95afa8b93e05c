#version 330 core
// Local MIP (first hit): along each ray, the first local maximum above a threshold, instead of
// the global maximum. A vessel in front then hides the one behind it, as in a surface view,
// while the picture keeps MIP grey levels (Sato et al., Radiology 1998, "LMIP").
//
// How it works. The ray set-up is the built-in shader's (mip.glsl), condensed: sample k of a
// ray sits at texture coordinate a + k*b, from the eye's side. The threshold is THRESHOLD of
// the way up the window: u_window.x + THRESHOLD * (u_window.y - u_window.x), in real units, so
// --window/--level move it. Once a sample exceeds it, the ray keeps climbing while the values
// rise and stops at the first drop. A ray that never crosses the threshold falls back to its
// ordinary maximum (so dim background still shows). Output is f_value (x value, y distance in
// mm along the ray, z hit flag, w samples), and glmip's display pass does the rest.
//
// Try: glmip turntable aorta.mha -o lmip.gif --shader shaders/examples/local_mip.glsl

#define THRESHOLD 0.5

#if defined VERTEX_SHADER

void main() {
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}

#elif defined FRAGMENT_SHADER

uniform sampler3D u_volume;
uniform float u_value_scale;
uniform float u_value_offset;
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
uniform vec2 u_slab;
uniform vec3 u_crop_lo;
uniform vec3 u_crop_hi;


out vec4 f_value;

const float INF = 1.0 / 0.0;

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

    float cos_d = dot(dir, u_view_dir);
    float t0 = (u_plane0 - dot(origin, u_view_dir)) / cos_d;
    float dt = u_sample_distance / cos_d;
    vec3 a = (u_world_to_tex * vec4(origin + t0 * dir, 1.0)).xyz;
    vec3 b = (u_world_to_tex * vec4(dir * dt, 0.0)).xyz;

    vec2 kr = box_range(a, b, u_crop_lo, u_crop_hi);
    float k_first = ceil(max(kr.x, (u_slab.x - u_plane0) / u_sample_distance));
    float k_last = floor(min(kr.y, (u_slab.y - u_plane0) / u_sample_distance));

    float threshold = u_window.x + THRESHOLD * (u_window.y - u_window.x);
    float best = -INF;
    float best_k = 0.0;
    bool climbing = false;
    float taken = 0.0;
    for (float k = k_first; k <= k_last; k += 1.0) {
        float v = texture(u_volume, a + k * b).r * u_value_scale + u_value_offset;
        taken += 1.0;
        if (climbing) {
            if (v > best) { best = v; best_k = k; } else if (v < best) break;
        } else {
            if (v > best) { best = v; best_k = k; }
            if (v >= threshold) climbing = true;
        }
    }
    f_value = isinf(best) ? vec4(0.0, 0.0, 0.0, taken) : vec4(best, t0 + best_k * dt, 1.0, taken);
}

#endif
