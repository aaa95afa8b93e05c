#version 330 core
// Depth-coloured MIP: the brightness of a pixel is the windowed MIP value, its hue says how
// deep the maximum lies (warm = near the eye, cool = far), so overlapping vessels separate.
//
// How it works. The ray set-up is the built-in shader's (mip.glsl), condensed: sample k of a
// ray sits at texture coordinate a + k*b on the sample planes; we keep the largest real value
// and the k where it was found. Its depth is the view-axis coordinate of that sample measured
// from the front of the framing sphere (u_depth_front), divided by the sphere's diameter
// (u_depth_length, the default depth-cue length): 0 at the front, 1 at the back. Because the
// framing sphere does not change as the view turns, the colours are stable in a turntable.
//
// Declaring `out vec4 f_color` tells glmip that this shader writes final colours: the display
// pass copies them (window/level and colormap options are then this shader's business).
// Slab, crop and sample distance still apply: they are in the ray set-up.
//
// Try: glmip render aorta.mha -o depth.png --view anterior --shader shaders/examples/depth_colour_mip.glsl

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
uniform float u_depth_front;
uniform float u_depth_length;

out vec4 f_color;

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

// A smooth warm-to-cool ramp: t = 0 orange-yellow (near) ... 1 blue (far).
vec3 depth_hue(float t) {
    vec3 near = vec3(1.0, 0.75, 0.25);
    vec3 mid = vec3(0.85, 0.25, 0.55);
    vec3 far = vec3(0.2, 0.45, 1.0);
    return t < 0.5 ? mix(near, mid, t * 2.0) : mix(mid, far, t * 2.0 - 1.0);
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

    float best = -INF;
    float best_k = 0.0;
    for (float k = k_first; k <= k_last; k += 1.0) {
        float v = texture(u_volume, a + k * b).r * u_value_scale + u_value_offset;
        if (v > best) { best = v; best_k = k; }  // NaN compares false: ignored
    }
    if (isinf(best)) {  // the ray missed the volume, or met only NaN
        f_color = vec4(0.0, 0.0, 0.0, 1.0);
        return;
    }
    float bright = clamp((best - u_window.x) / (u_window.y - u_window.x), 0.0, 1.0);
    float depth = (u_plane0 + best_k * u_sample_distance - u_depth_front) / u_depth_length;
    f_color = vec4(bright * depth_hue(clamp(depth, 0.0, 1.0)), 1.0);
}

#endif
