// The vertex stage every glmip shader uses: one triangle that covers the viewport, made from
// gl_VertexID alone (no vertex buffer). The fragment stage then runs once per pixel.
void main() {
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
