#version 330 core
// glmip projection shader: maximum (and minimum, mean, depth-cued) intensity projection.
//
// How it works. Each fragment is one image pixel and casts one ray through the volume. The
// samples of every ray lie on planes perpendicular to the view direction, u_sample_distance mm
// apart, the first plane through the voxel-centre corner nearest the eye (docs/conventions.md,
// "Samples along a ray"). In texture coordinates the k-th sample of a ray is simply A + k*B
// (a straight line), so the loop does no matrix work: the ray/box intersection gives the first
// and last k analytically, and the loop only adds B and fetches.
//
// Speed without changing the picture: the volume is covered by cells of u_cell_size voxels;
// u_cells holds each cell's maximum and minimum real value over the voxels its samples can read
// (the cell and the next voxel, which trilinear samples also read, plus one voxel of margin on
// every side for float rounding at the faces). The ray walks from cell to cell (the last sample in
// a cell comes from where the ray crosses the cell's faces); a cell whose maximum the window
// maps to a grey level no higher than the ray's current one cannot change the pixel and is
// passed over (u_skip_mode 2). For quantitative output the comparison is on raw values instead
// (u_skip_mode 1), which keeps the exact maximum and its position. A ray that has reached the
// top of the window stops (u_early_exit). A MIP picture may first take one sample of its own
// where the previous frame's ray at this pixel found its maximum (GLMIP_HINT): any sample of
// the ray is a lower bound of its maximum, so cells below it are passed over from the start.
//
// Output f_value: x = projected real value, y = distance along the ray (mm from the ray origin)
// of the maximum (MIP/depth) or minimum (MinIP) (for mean: the number of finite samples),
// z = 1 if the ray met any finite sample else 0, w = number of samples taken (for profiling).
//
//
// The uniforms it receives (the contract user shaders are written against) and the ray set-up
// are in lib/ray.glsl; grey(), a value's 8-bit grey level under the window, is in
// lib/window.glsl (which lib/ray.glsl includes, as does the display pass).


#if defined VERTEX_SHADER

#include "lib/fullscreen.glsl"

#elif defined FRAGMENT_SHADER

#include "lib/ray.glsl"

// Bricked volumes (docs/projections.md, "Bricked volumes"): one pass per brick, front to back
// along every ray. GLMIP_BRICKED: this is one of several passes; u_last_pass: the last one
// (colours are made there). GLMIP_STATE (mida's pictures, lmip): the ray's running state
// beyond (value, distance, hit, samples) goes to a second colour attachment, f_state, read by
// the next pass from u_state_previous, so each pass continues the ray where the previous
// brick stopped.
uniform bool u_last_pass;
#ifdef GLMIP_STATE
#define GLMIP_CARRIES true
layout(location = 0) out vec4 f_value;
layout(location = 1) out vec4 f_state;
uniform sampler2D u_state_previous;
#else
#define GLMIP_CARRIES false
out vec4 f_value;
#endif

// Depth-aware modes (docs/projections.md). GLMIP_COLOUR: a picture of a mode that makes colours
// (mida, depthcolour): f_value is then a premultiplied colour and its opacity, which the display
// pass lays over the background; otherwise (quantitative output) every mode writes the usual
// (value, distance, hit, samples).
#ifndef GLMIP_COLOUR
#define GLMIP_COLOUR false
#endif
uniform sampler2D u_colormap;  // 256x1 colour table (mida)
uniform float u_gamma;         // display gamma: colour index floor(s^gamma * 255 + 0.5)
uniform vec2 u_opacity;        // mida's opacity ramp a + (b - a) * s
uniform float u_mida_gamma;    // mida: -1 compositing .. 0 MIDA .. 1 MIP
uniform float u_threshold;     // lmip: real value a local maximum must exceed

// The hint (GLMIP_HINT; MIP pictures from one texture): the previous frame's result at this
// pixel (value, distance of its maximum along its ray, hit, samples), and that frame's
// orthographic rays (u_center, u_pixel_right, u_pixel_up, u_view_dir as it had them).
#ifndef GLMIP_HINT
#define GLMIP_HINT false
#endif
uniform sampler2D u_hint;
uniform vec3 u_hint_center;
uniform vec3 u_hint_right;
uniform vec3 u_hint_up;
uniform vec3 u_hint_dir;

// Window-normalised value of a real value, 0..1 (not rounded to 8 bits).
float normalised(float v) {
    return clamp((v - u_window.x) / (u_window.y - u_window.x), 0.0, 1.0);
}

vec3 lut_colour(float s) {
    return texelFetch(u_colormap, ivec2(int(floor(pow(s, u_gamma) * 255.0 + 0.5)), 0), 0).rgb;
}

// Depth colour: warm (near) -> magenta -> cool (far), t in 0..1.
vec3 depth_hue(float t) {
    vec3 near = vec3(1.0, 0.75, 0.25);
    vec3 mid = vec3(0.85, 0.25, 0.55);
    vec3 far = vec3(0.2, 0.45, 1.0);
    return t < 0.5 ? mix(near, mid, t * 2.0) : mix(mid, far, t * 2.0 - 1.0);
}

// The depth colour of a MIP result r = (value, view-axis coordinate of the maximum's sample
// plane, hit, samples): brightness the windowed value, hue the depth from the front of the
// framing sphere over u_depth_length; transparent black for a miss.
vec4 depth_colour(vec4 r) {
    if (r.z < 0.5) return vec4(0.0);
    float t = clamp((r.y - u_depth_front) / u_depth_length, 0.0, 1.0);
    return vec4(grey(r.x) / 255.0 * depth_hue(t), 1.0);
}

// MIDA (Bruckner & Groeller 2009), front to back: delta_i = s_i - max_{j<i} s_j where positive
// (the running maximum starts at 0), beta_i = 1 - delta_i * (1 + min(G, 0)),
// C_i = beta_i C_{i-1} + (1 - beta_i A_{i-1}) alpha_i c_i, A_i likewise with c_i = 1; for G > 0
// the result is (1 - G) * MIDA + G * MIP, MIP being alpha c of the ray's maximum.
// No skipping and no early exit: every sample adds to the colour.
vec4 mida(Ray ray) {
    vec3 C = vec3(0.0);
    float A = 0.0;
    float smax = 0.0;
    float best = -INF;
    float best_k = ray.k_first;
    float taken = 0.0;
    float soften = 1.0 + min(u_mida_gamma, 0.0);
#ifdef GLMIP_STATE
    // A later brick: continue from the previous pass's colour, opacity and running maximum.
    if (GLMIP_HAS_PREVIOUS) {
        vec4 prev = texelFetch(u_previous, ivec2(gl_FragCoord.xy), 0);
        vec4 state = texelFetch(u_state_previous, ivec2(gl_FragCoord.xy), 0);
        C = prev.rgb;
        A = prev.a;
        smax = state.x;
        best = state.z > 0.5 ? state.y : -INF;
        taken = state.w;
    }
#endif
    for (float k = ray.k_first; k <= ray.k_last; k += 1.0) {
        float v = real_value(sample_tc(ray, k));
        taken += 1.0;
        if (isnan(v)) continue;
        if (v > best) { best = v; best_k = k; }
        float s = normalised(v);
        float delta = max(s - smax, 0.0);
        smax = max(smax, s);
        float beta = 1.0 - delta * soften;
        float alpha = u_opacity.x + (u_opacity.y - u_opacity.x) * s;
        float gain = (1.0 - beta * A) * alpha;
        C = beta * C + gain * lut_colour(s);
        A = beta * A + gain;
    }
#ifdef GLMIP_STATE
    f_state = vec4(smax, isinf(best) ? 0.0 : best, isinf(best) ? 0.0 : 1.0, taken);
    if (!u_last_pass) return vec4(C, A);
#endif
    if (isinf(best)) return vec4(0.0, 0.0, 0.0, GLMIP_COLOUR ? 0.0 : taken);
    if (!GLMIP_COLOUR) return vec4(best, ray.t0 + best_k * ray.dt, 1.0, taken);
    if (u_mida_gamma > 0.0) {
        float s = normalised(best);
        float alpha = u_opacity.x + (u_opacity.y - u_opacity.x) * s;
        C = mix(C, alpha * lut_colour(s), u_mida_gamma);
        A = mix(A, alpha, u_mida_gamma);
    }
    return vec4(C, A);
}

// Local MIP (Sato et al. 1998): the first local maximum along the ray of a sample above
// u_threshold (climb from the first sample above it while values rise; stop at the first
// drop), else the ray's maximum. No skipping and no window early exit (the climb's end is its
// own early exit).
vec4 lmip(Ray ray) {
    float best = -INF;
    float best_k = ray.k_first;
    bool climbing = false;
    bool done = false;
    bool mine = true;  // the best sample is this pass's (else: the previous pass's, at best_d)
    float best_d = 0.0;
    float taken = 0.0;
#ifdef GLMIP_STATE
    // A later brick: the climb goes on across the face (a plateau or a rise continues, the
    // first drop ends it), from the previous pass's best value, its position and the climb's
    // state (climbing, done).
    if (GLMIP_HAS_PREVIOUS) {
        vec4 prev = texelFetch(u_previous, ivec2(gl_FragCoord.xy), 0);
        vec4 state = texelFetch(u_state_previous, ivec2(gl_FragCoord.xy), 0);
        if (prev.z > 0.5) { best = prev.x; best_d = prev.y; mine = false; }
        taken = prev.w;
        climbing = state.x > 0.5;
        done = state.y > 0.5;
    }
#endif
    if (!done) {
        for (float k = ray.k_first; k <= ray.k_last; k += 1.0) {
            float v = real_value(sample_tc(ray, k));
            taken += 1.0;
            if (climbing) {
                if (v > best) { best = v; best_k = k; mine = true; }
                else if (v < best) { done = true; break; }
            } else {
                if (v > best) { best = v; best_k = k; mine = true; }
                if (v > u_threshold) climbing = true;
            }
        }
    }
#ifdef GLMIP_STATE
    f_state = vec4(climbing ? 1.0 : 0.0, done ? 1.0 : 0.0, 0.0, 0.0);
#endif
    if (isinf(best)) return vec4(0.0, 0.0, 0.0, taken);
    // Grey levels only at the end of the ray: a later pass compares real values.
    if (GLMIP_GREY_OUT && (!GLMIP_BRICKED || u_last_pass))
        best = u_window.x + grey(best) / 255.0 * (u_window.y - u_window.x);
    return vec4(best, mine ? ray.t0 + best_k * ray.dt : best_d, 1.0, taken);
}

void main() {
    Ray ray = setup_ray();
    // Depth colour of a bricked volume: passes carry the MIP (value, the maximum's view-axis
    // coordinate); the last one colours it.
    bool colour_here = GLMIP_MODE == 6 && GLMIP_COLOUR && (!GLMIP_BRICKED || u_last_pass);
    if (ray.k_first > ray.k_last) {
        if (GLMIP_CARRIES) {  // nothing of this brick on the ray: the state passes through
            ray.k_first = 1.0;
            ray.k_last = 0.0;
        } else {
            vec4 r = combine(vec4(0.0, 0.0, 0.0, 0.0));
            f_value = colour_here ? depth_colour(r) : r;
            return;
        }
    }
    if (GLMIP_MODE == 4) { f_value = GLMIP_CARRIES ? mida(ray) : combine(mida(ray)); return; }
    if (GLMIP_MODE == 5) { f_value = GLMIP_CARRIES ? lmip(ray) : combine(lmip(ray)); return; }
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

    // The ray is marched in runs: stretches of samples taken in a tight inner loop. Without
    // skipping a run is the whole ray. With skipping, the ray walks cell by cell: the cell's (max, min) bound every sample
    // in it, and a cell that cannot change the ray's grey level (or raw value) is passed over;
    // consecutive cells that must be sampled are joined into one run (up to MAX_RUN samples).
    bool skipping = GLMIP_SKIP != 0 && GLMIP_MODE != 2;
    float run = k_last - k_first + 1.0;
    // Early exit, tested at every sample: a value at or above the grey-255 threshold (at or
    // below the grey-0 one for MinIP) ends the ray. The thresholds sit a hair inside, so float
    // rounding can only make a ray stop later, never change its grey level.
    float w = u_window.y - u_window.x;
    float slack = 1e-5 * (abs(u_window.x) + abs(u_window.y) + w);
    bool exits = GLMIP_EARLY_EXIT && GLMIP_MODE != 2;
    float stop_above = exits && !minip ? u_window.x + w * (254.5 / 255.0) + slack : INF;
    float stop_below = exits && minip ? u_window.x + w * (0.5 / 255.0) - slack : -INF;
    const float MAX_RUN = 32.0;
    // Cell walk in this texture's voxel index p = pa + k*pb (voxel centres at integers).
    vec3 pa = a * u_volume_size - 0.5;
    vec3 pb = b * u_volume_size;
    bvec3 forward = greaterThan(pb, vec3(0.0));
    bvec3 still = lessThan(abs(pb), vec3(1e-9));
    vec3 inv_pb = 1.0 / mix(pb, vec3(1.0), still);
    vec3 cell_hi = vec3(textureSize(u_cells, 0) - 1);
    // A ray through a volume of finite values is a hit whatever is skipped, so it may skip before
    // its first sample (its grey level is then the window's end, all it can be).
    bool unseen_ok = GLMIP_FINITE && GLMIP_SKIP == 2;
    float g_best = grey(best);  // the ray's grey level so far (updated after each run)
    bool done = false;
    if (GLMIP_HINT) {
        // One sample where the previous frame's maximum was (the sample plane nearest that
        // point): the previous frame is only a guess, so whatever it held, this is a sample of
        // this ray and the picture is unchanged. Worth it only above the window's bottom.
        vec4 before = texelFetch(u_hint, ivec2(gl_FragCoord.xy), 0);
        vec2 pix = gl_FragCoord.xy + u_pixel_offset - 0.5 * u_image_size;
        vec3 p = u_hint_center + pix.x * u_hint_right + pix.y * u_hint_up + before.y * u_hint_dir;
        float kh = floor((dot(p, u_view_dir) - u_plane0) / u_sample_distance - phase + 0.5);
        if (before.z > 0.5 && before.x > u_window.x && abs(kh) < 1e30) {
            kh = clamp(kh, k_first, k_last);
            float v = real_value(sample_tc(ray, kh));
            taken += 1.0;
            if (v > best) { best = v; best_k = kh; }
            g_best = grey(best);
            done = GLMIP_EARLY_EXIT && !isinf(best) && g_best >= 255.0;
        }
    }
    // Loops test at their end (do-while): llvmpipe runs a loop's body once more after its
    // last lane has left a loop that tests at its top, and here a body means a texture fetch.
    float k = k_first;
    if (!done) do {
        float k_end = min(k + run - 1.0, k_last);
        if (skipping) {
            // The walk is a loop without sampling code because llvmpipe runs a loop body
            // (texture fetches included) once more after its last lane has left: sampling code
            // is only reached for runs that are sampled.
            // First sample of the run found so far. k can be negative (the box reaches half a
            // voxel in front of the first sample plane), so "none yet" is its own flag.
            float k_run = k;
            bool found = false;
            for (float kc = k; ;) {
                vec3 c = clamp(floor((pa + kc * pb) / u_cell_size), vec3(0.0), cell_hi);
                // Last sample inside cell c: the ray leaves through the faces it heads for.
                // Float rounding may misplace a sample lying on a face; the statistics cover
                // one voxel beyond the cell for that.
                vec3 t = ((c + vec3(forward)) * u_cell_size - pa) * inv_pb;
                vec3 last = mix(mix(floor(t), ceil(t) - 1.0, forward), vec3(INF), still);
                float kc_end = min(k_last, max(kc, min(last.x, min(last.y, last.z))));
                bool must = !unseen_ok && isinf(best);  // the first sample decides "hit"
                if (!must) {
                    vec2 cell = texelFetch(u_cells, ivec3(c), 0).rg;
                    // Depth cueing pulls values below the window's bottom up towards it: a
                    // cued value can exceed its cell's maximum, never max(maximum, bottom).
                    float top = GLMIP_MODE == 3 ? max(cell.x, u_window.x) : cell.x;
                    must = minip
                        ? (GLMIP_SKIP == 2 ? grey(cell.y) < g_best : cell.y < best)
                        : (GLMIP_SKIP == 2 ? grey(top) > g_best : top > best);
                }
                if (must) {
                    if (!found) k_run = kc;
                    found = true;
                    k_end = kc_end;
                } else if (found) {
                    break;
                }
                kc = kc_end + 1.0;
                if (kc > k_last || (found && kc - k_run >= MAX_RUN)) break;
            }
            if (!found) break;  // nothing left that could change the pixel
            k = k_run;
        }
        // Positions are a + k*b, not a running sum: every path samples the same points.
        float k_start = k;  // k <= k_end here
        if (GLMIP_MODE == 0 || GLMIP_MODE == 6) {  // plain MIP: the hot loop, kept minimal
            do {
                float v = real_value(sample_tc(ray, k));
                if (v > best) { best = v; best_k = k; }
                k += 1.0;
            } while (k <= k_end && best < stop_above);
        } else {
            do {
                float v = real_value(sample_tc(ray, k));
                if (GLMIP_MODE == 3) {
                    // Depth cue: weight exp(-(distance from the sphere front) / length).
                    float along = u_plane0 + (k + phase) * u_sample_distance;
                    v = u_window.x + (v - u_window.x)
                        * exp(-(along - u_depth_front) / u_depth_length);
                }
                if (GLMIP_MODE == 2) {
                    if (!isnan(v)) { sum += v; count += 1.0; }
                } else if (minip ? v < best : v > best) {  // NaN compares false: ignored
                    best = v;
                    best_k = k;
                }
                k += 1.0;
            } while (k <= k_end && best < stop_above && best > stop_below);
        }
        taken += k - k_start;
        g_best = grey(best);
        if (GLMIP_EARLY_EXIT && !isinf(best) && GLMIP_MODE != 2
            && (minip ? g_best <= 0.0 : g_best >= 255.0)) done = true;
    } while (k <= k_last && !done);

    if (GLMIP_MODE == 2) {
        f_value = combine(count > 0.0 ? vec4(sum / count, count, 1.0, taken) : vec4(0.0, 0.0, 0.0, taken));
        return;
    }
    if (GLMIP_MODE == 6 && GLMIP_COLOUR) {
        // Depth colour: brightness the windowed MIP value q, hue the depth of the maximum's
        // sample plane from the front of the framing sphere over u_depth_length (the sphere's
        // diameter by default). Skipping here is on raw values and there is no early exit, so
        // the maximum and its (first) position are exact.
        // Bricked: the passes combine (value, view-axis coordinate) like a MIP (ties keep the
        // nearer brick's sample) and the last pass colours the result.
        vec4 r = isinf(best) ? vec4(0.0, 0.0, 0.0, taken)
            : vec4(best, u_plane0 + (best_k + phase) * u_sample_distance, 1.0, taken);
        if (GLMIP_BRICKED) r = combine(r);
        f_value = colour_here ? depth_colour(r) : r;
        return;
    }
    if (isinf(best)) {
        // Every sample skipped (all values finite): the window's end is the ray's grey level.
        f_value = combine(unseen_ok
                          ? vec4(minip ? u_window.y : u_window.x, t0 + k_first * dt, 1.0, taken)
                          : vec4(0.0, 0.0, 0.0, taken));
        return;
    }
    if (GLMIP_REFINE && GLMIP_MODE == 0) {
        // Look between the neighbours of the best sample for a higher value (14 points).
        float k0 = best_k;
        for (float s = -0.875; s <= 0.875; s += 0.125) {
            float k = k0 + s;
            if (s == 0.0 || k < k_first || k > k_last) continue;
            float v = real_value(sample_tc(ray, k));
            if (v > best) { best = v; best_k = k; }
        }
    }
    if (GLMIP_GREY_OUT && GLMIP_MODE != 2) {
        // Pictures only: the value of the ray's grey level. Skipping and the early exit keep
        // the grey level exact but not the value, so the viewer's scaled-up and averaged
        // (jittered) frames work on grey levels, the same whichever path a ray took.
        best = u_window.x + grey(best) / 255.0 * (u_window.y - u_window.x);
    }
    f_value = combine(vec4(best, t0 + best_k * dt, 1.0, taken));
}

#endif
