// glmip window library: the 8-bit grey level of a real value under the window u_window
// (lowest, highest real value), as docs/conventions.md ("Values and window/level") defines it.
// The projection pass (through lib/ray.glsl) and the display pass both include it, so the grey
// level the projection's skipping keeps exact is the one the display shows.
#ifndef GLMIP_WINDOW_GLSL
#define GLMIP_WINDOW_GLSL

uniform vec2 u_window;

// Grey level 0..255 (a whole number) of real value v.
float grey(float v) {
    return floor(clamp((v - u_window.x) / (u_window.y - u_window.x), 0.0, 1.0) * 255.0 + 0.5);
}

#endif
