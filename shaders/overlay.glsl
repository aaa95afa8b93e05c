#version 330 core
// glmip overlay shader: the window's text and scale bar (an RGBA texture rasterised with
// Pillow, rows top-first) blended over the picture by one full-window triangle.

#if defined VERTEX_SHADER

out vec2 v_uv;

void main() {
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    v_uv = vec2(p.x, 1.0 - p.y);  // Pillow rows are top-first
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}

#elif defined FRAGMENT_SHADER

uniform sampler2D u_overlay;
in vec2 v_uv;
out vec4 f_colour;

void main() {
    f_colour = texture(u_overlay, v_uv);
}

#endif
