#version 330 core
// glmip display shader: projected real values -> pixel colours.
//
// q          = floor(clamp((v - lo) / (hi - lo), 0, 1) * 255 + 0.5) / 255   (docs/conventions.md)
// index      = floor(q ** gamma * 255 + 0.5)
// colour     = colormap[index]   (a 256-entry table; the grey table is index / 255)
// pixel      = opacity * colour + (1 - opacity) * background, opacity = a + (b - a) * q
// Everything is a function of the 8-bit windowed value q, so a projection that only keeps q
// exact (the skipping in mip.glsl) gives exactly the same pixels.
// Rays that met no finite sample (z == 0) show the background.
//
// Uniforms: u_values (RGBA32F from the projection pass), u_window (lo, hi) real units
// (declared in lib/window.glsl with grey(), which computes q * 255), u_gamma, u_opacity (a, b),
// u_background (RGB 0..1), u_colormap (256x1 RGBA), u_target_size (the viewport: this pixel
// reads u_values at gl_FragCoord / u_target_size, so a coarser projection made while the mouse
// drags is scaled up here), u_direct (the projection shader wrote colours itself: copy them),
// u_composite (a colour mode wrote a premultiplied colour and opacity: lay it over u_background).

#if defined VERTEX_SHADER

#include "lib/fullscreen.glsl"

#elif defined FRAGMENT_SHADER

uniform sampler2D u_values;
uniform sampler2D u_colormap;
uniform float u_gamma;
uniform vec2 u_opacity;
uniform vec3 u_background;
uniform vec2 u_target_size;
uniform bool u_direct;  // the projection shader wrote colours itself (it declares f_color)
uniform bool u_composite;  // a colour mode (mida, depthcolour): premultiplied colour + opacity

#include "lib/window.glsl"

out vec4 f_color;

void main() {
    vec2 uv = gl_FragCoord.xy / u_target_size;
    vec4 value = texture(u_values, uv);
    if (u_direct) {
        f_color = vec4(clamp(value.rgb, 0.0, 1.0), 1.0);
        return;
    }
    if (u_composite) {  // over the background
        f_color = vec4(clamp(value.rgb + (1.0 - value.a) * u_background, 0.0, 1.0), 1.0);
        return;
    }
    if (value.z < 0.5) {
        f_color = vec4(u_background, 1.0);
        return;
    }
    float q = grey(value.x) / 255.0;  // the 8-bit windowed value
    float index = floor(pow(q, u_gamma) * 255.0 + 0.5);
    vec3 colour = texelFetch(u_colormap, ivec2(int(index), 0), 0).rgb;
    float opacity = u_opacity.x + (u_opacity.y - u_opacity.x) * q;
    f_color = vec4(opacity * colour + (1.0 - opacity) * u_background, 1.0);
}

#endif
