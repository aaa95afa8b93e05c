// The vertex stage every glmip shader uses. By default one triangle that covers the viewport,
// made from gl_VertexID alone (no vertex buffer); the fragment stage then runs once per pixel.
// glmip's built-in projection pass defines GLMIP_FOOTPRINT: it then draws the volume's outline
// on screen as a fan of points in u_footprint (normalised device coordinates), so pixels whose
// rays miss the volume run no fragment code at all. User shaders run on every pixel.
#ifdef GLMIP_FOOTPRINT
uniform vec2 u_footprint[16];
void main() {
    gl_Position = vec4(u_footprint[gl_VertexID], 0.0, 1.0);
}
#else
void main() {
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
#endif
