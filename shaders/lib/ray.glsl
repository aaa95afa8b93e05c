// glmip ray library: the uniform contract every projection shader receives, and the ray set-up
// that puts samples where docs/conventions.md says. Include it in the fragment stage:
//     an #include line naming "lib/ray.glsl", in the FRAGMENT_SHADER section (see mip.glsl);
// then call setup_ray() and march k from ray.k_first to ray.k_last, sampling at sample_tc(ray, k).
//
// Uniform contract (also in docs/shaders.md; user shaders receive the same):
//   sampler3D u_volume        the volume, one channel; real value = texel * u_value_scale + u_value_offset
//   vec3  u_volume_size       voxels per axis (i, j, k) of the texture (this brick)
//   mat4  u_world_to_index    world RAS mm -> voxel index (i, j, k) of the whole volume
//   vec3  u_brick_start       index of the texture's first voxel in the whole volume (0 unbricked);
//                             texture coordinate = (index - u_brick_start + 0.5) / u_volume_size
//   vec3  u_global_size       voxels per axis of the whole volume
//   vec3  u_rebase            1 on axes whose texture size is a power of two (see sample_tc)
//   mat4  u_world_to_tex      world RAS mm -> this texture's coordinates (convenience)
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
//   int   u_mode              0 mip, 1 minip, 2 mean, 3 depth-cued mip, 4 mida, 5 lmip,
//                             6 depthcolour
//   vec2  u_slab              allowed range of dot(x, u_view_dir) (slab and the full range)
//   vec3  u_crop_lo, u_crop_hi  index-coordinate box samples must lie in (full-voxel box
//                             -0.5 .. n-0.5, crop and brick applied), inclusive except
//   vec3  u_open_hi           1 on axes whose upper face belongs to the next brick
//   float u_depth_front       view-axis coordinate of the front of the framing sphere
//   float u_depth_length      depth cue: mm over which brightness falls to 1/e
//   float u_jitter            0: exact planes; 1: per-pixel random phase (seeded by u_seed)
//   int   u_seed              frame number for the jitter
//   bool  u_refine            refine the maximum between samples
//   sampler3D u_cells         RG32F per-cell (max, min) real value; cell c holds the samples whose
//                             voxel index lies in c*u_cell_size .. (c+1)*u_cell_size (this brick)
//   float u_cell_size         voxels per cell edge
//   bool  u_all_finite        every value of the volume is finite (no NaN, no infinity)
//   bool  u_grey_out          pictures only: write the value of the ray's 8-bit grey level
//   int   u_skip_mode         0 none, 1 raw values, 2 output grey levels
//   bool  u_early_exit        stop a ray once it reaches the top (MIP) or bottom (MinIP) of the window
//   sampler3D u_mask          the mask (--mask) on this brick's grid, 1 inside the projected set,
//                             0 outside, filtered like the volume; a sample whose interpolated
//                             mask is below 1 (it reads a voxel outside) is NaN: ignored
//   sampler2D u_previous      RGBA32F result of the previous brick's pass (same layout as f_value)
//   bool  u_has_previous      false for the first (or only) brick

uniform sampler3D u_volume;
uniform float u_value_scale;
uniform float u_value_offset;
uniform vec3 u_volume_size;
uniform mat4 u_world_to_index;
uniform vec3 u_brick_start;
uniform vec3 u_global_size;
uniform vec3 u_rebase;
uniform vec3 u_open_hi;
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
uniform bool u_all_finite;
uniform bool u_grey_out;
uniform int u_skip_mode;
uniform bool u_early_exit;
uniform sampler2D u_previous;
uniform bool u_has_previous;
uniform sampler3D u_mask;

// Compile-time switches. glmip builds one program per combination it uses, defining these to
// constants so the driver drops unused code (a software rasteriser such as llvmpipe otherwise
// runs both sides of every branch). Left undefined, they read the uniforms instead.
#ifndef GLMIP_MODE
#define GLMIP_MODE u_mode
#endif
#ifndef GLMIP_SKIP
#define GLMIP_SKIP u_skip_mode
#endif
#ifndef GLMIP_EARLY_EXIT
#define GLMIP_EARLY_EXIT u_early_exit
#endif
#ifndef GLMIP_REFINE
#define GLMIP_REFINE u_refine
#endif
#ifndef GLMIP_PERSPECTIVE
#define GLMIP_PERSPECTIVE u_perspective
#endif
#ifndef GLMIP_JITTER
#define GLMIP_JITTER (u_jitter > 0.0)
#endif
#ifndef GLMIP_FINITE
#define GLMIP_FINITE u_all_finite
#endif
#ifndef GLMIP_GREY_OUT
#define GLMIP_GREY_OUT u_grey_out
#endif
#ifndef GLMIP_MASK
#define GLMIP_MASK false
#endif
#ifndef GLMIP_BRICKED  // this pass is one of several, one per brick
#define GLMIP_BRICKED false
#endif
#ifndef GLMIP_HAS_PREVIOUS
#define GLMIP_HAS_PREVIOUS u_has_previous
#endif

const float INF = 1.0 / 0.0;

// Real value at texture coordinate tc; NaN (ignored by every mode) where a mask is on and the
// sample reads any voxel outside it: no value outside the mask reaches the picture.
float real_value(vec3 tc) {
    if (GLMIP_MASK && texture(u_mask, tc).r < 1.0) return uintBitsToFloat(0x7fc00000u);
    return texture(u_volume, tc).r * u_value_scale + u_value_offset;
}

// u_window and grey(v), the output grey level (0..255) of a real value:
#include "lib/window.glsl"

float hash(vec2 p, int seed) {
    vec3 q = fract(vec3(p.xyx + float(seed) * 17.0) * 0.1031);
    q += dot(q, q.yzx + 33.33);
    return fract((q.x + q.y) * q.z);
}

// Bricks: a volume larger than one texture is drawn brick by brick, nearest first; each pass
// combines its rays with the previous pass's result (u_previous), so no sorting of samples is
// needed. Ties keep the earlier (nearer) brick's sample, as a single pass would.
vec4 combine(vec4 mine) {
    if (!GLMIP_HAS_PREVIOUS) return mine;
    vec4 prev = texelFetch(u_previous, ivec2(gl_FragCoord.xy), 0);
    float taken = prev.w + mine.w;
    if (GLMIP_MODE == 2) {  // mean: x = mean, y = number of finite samples
        float count = prev.y + mine.y;
        float mean = count > 0.0 ? (prev.x * prev.y + mine.x * mine.y) / count : 0.0;
        return vec4(mean, count, count > 0.0 ? 1.0 : 0.0, taken);
    }
    if (prev.z < 0.5) return vec4(mine.xyz, taken);
    if (mine.z < 0.5) return vec4(prev.xyz, taken);
    bool better = (GLMIP_MODE == 1) ? mine.x < prev.x : mine.x > prev.x;
    return vec4(better ? mine.xyz : prev.xyz, taken);
}

// Integer range [first, last] of k for which a + k*b lies in the box [lo, hi] on every axis;
// on axes where open_hi is 1 the upper face is excluded, so bricks that share a face partition
// the samples exactly (both compute the crossing from the same global numbers).
vec2 k_range(vec3 a, vec3 b, vec3 lo, vec3 hi, vec3 open_hi) {
    float first = -INF;
    float last = INF;
    for (int i = 0; i < 3; ++i) {
        bool open = open_hi[i] > 0.5;
        if (abs(b[i]) < 1e-12) {
            if (a[i] < lo[i] || a[i] > hi[i] || (open && a[i] >= hi[i])) return vec2(1.0, 0.0);
        } else {
            float t_lo = (lo[i] - a[i]) / b[i];
            float t_hi = (hi[i] - a[i]) / b[i];
            if (b[i] > 0.0) {
                first = max(first, ceil(t_lo));
                last = min(last, open ? ceil(t_hi) - 1.0 : floor(t_hi));
            } else {
                first = max(first, open ? floor(t_hi) + 1.0 : ceil(t_hi));
                last = min(last, floor(t_lo));
            }
        }
    }
    return vec2(first, last);
}

// One ray: sample k (k_first <= k <= k_last) is at texture coordinate sample_tc(ray, k), about
// a + k*b, and at distance t0 + k*dt mm along the ray from its origin; its view-axis coordinate
// is u_plane0 + (k + phase) * u_sample_distance. (ga, gb: a and b in the whole volume's texture
// coordinates.)
struct Ray {
    vec3 origin;
    vec3 dir;
    vec3 a;
    vec3 b;
    vec3 ga;
    vec3 gb;
    float t0;
    float dt;
    float phase;
    float k_first;
    float k_last;
};

Ray setup_ray() {
    Ray r;
    vec2 pix = gl_FragCoord.xy + u_pixel_offset - 0.5 * u_image_size;
    vec3 focus = u_center + pix.x * u_pixel_right + pix.y * u_pixel_up;
    if (GLMIP_PERSPECTIVE) {
        r.origin = u_eye;
        r.dir = normalize(focus - u_eye);
    } else {
        r.origin = focus;
        r.dir = u_view_dir;
    }

    // Ray parameter t (mm along dir) of sample k: its view-axis coordinate is plane0 + k*step.
    float cos_d = dot(r.dir, u_view_dir);
    float along0 = dot(r.origin, u_view_dir);
    r.phase = GLMIP_JITTER ? hash(gl_FragCoord.xy, u_seed) : 0.0;
    r.t0 = (u_plane0 + r.phase * u_sample_distance - along0) / cos_d;
    r.dt = u_sample_distance / cos_d;
    // Sample k in global voxel-index coordinates, and in this brick's texture coordinates.
    vec3 a_index = (u_world_to_index * vec4(r.origin + r.t0 * r.dir, 1.0)).xyz;
    vec3 b_index = (u_world_to_index * vec4(r.dir * r.dt, 0.0)).xyz;
    r.a = (a_index - u_brick_start + 0.5) / u_volume_size;
    r.b = b_index / u_volume_size;
    r.ga = (a_index + 0.5) / u_global_size;
    r.gb = b_index / u_global_size;

    vec2 kr = k_range(a_index, b_index, u_crop_lo, u_crop_hi, u_open_hi);
    // Slab: view-axis coordinate plane0 + (k + phase) * step within u_slab.
    float slab_lo = (u_slab.x - u_plane0) / u_sample_distance - r.phase;
    float slab_hi = (u_slab.y - u_plane0) / u_sample_distance - r.phase;
    r.k_first = max(kr.x, ceil(slab_lo));
    r.k_last = min(kr.y, floor(slab_hi));
    return r;
}

// Texture coordinate of sample k. A brick samples where the whole volume's texture would: the
// sampler turns a coordinate u into texel position u * size - 0.5, so a brick is given
// (u * whole size - start) / brick size, which it turns back into exactly the whole texture's
// position less the brick's start (on power-of-two brick sizes the division and the product
// are exact; start is a whole number). Bricked pictures are then the unbricked one to the bit.
vec3 sample_tc(Ray r, float k) {
    vec3 tc = r.a + k * r.b;
    if (!GLMIP_BRICKED) return tc;
    vec3 u = r.ga + k * r.gb;
    vec3 rebased = (u * u_global_size - u_brick_start) / u_volume_size;
    return mix(tc, rebased, greaterThan(u_rebase, vec3(0.5)));
}
