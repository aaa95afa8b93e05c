"""A plain ray-march shader in moderngl (the "plain shader" column): what a straightforward
shader without glmip's speed-ups costs on the same GL.

One fragment per pixel; the ray is clipped to the full-voxel box, then a fixed-step loop takes
every sample on the sample planes of docs/conventions.md, mapping each sample world -> texture
with a matrix, one trilinear fetch, max. No skipping, no early exit. Output is windowed straight to
8-bit grey (the case's window, by default the full data range), read back like every other
peer.
"""

from __future__ import annotations

import time

import numpy as np

LABEL = "plain moderngl shader"
REQUIRES = ["moderngl"]
GEOMETRY = None

VERT = """
#version 330
in vec2 pos;
void main() { gl_Position = vec4(pos, 0.0, 1.0); }
"""

FRAG = """
#version 330
uniform sampler3D u_volume;
uniform mat4 u_world_to_tex;
uniform vec3 u_center, u_right, u_up, u_dir;
uniform vec2 u_size;
uniform float u_step, u_plane0, u_scale, u_offset, u_lo, u_hi;
uniform vec3 u_box_lo, u_box_hi;   // full-voxel box in index space
uniform mat4 u_world_to_index;
out vec4 frag;
void main() {
    vec2 px = gl_FragCoord.xy;   // y from the bottom: row r = rows - 1 - floor(y)
    vec3 P = u_center + (px.x - u_size.x * 0.5) * u_right + (px.y - u_size.y * 0.5) * u_up;
    vec3 o = (u_world_to_index * vec4(P, 1.0)).xyz;
    vec3 dd = (u_world_to_index * vec4(u_dir, 0.0)).xyz;
    vec3 inv = 1.0 / dd;
    vec3 t1 = (u_box_lo - o) * inv, t2 = (u_box_hi - o) * inv;
    float tmin = max(max(min(t1.x, t2.x), min(t1.y, t2.y)), min(t1.z, t2.z));
    float tmax = min(min(max(t1.x, t2.x), max(t1.y, t2.y)), max(t1.z, t2.z));
    if (tmax < tmin) { frag = vec4(0.0); return; }
    float base = dot(P, u_dir);
    float k0 = ceil((base + tmin - u_plane0) / u_step - 1e-4);
    float k1 = floor((base + tmax - u_plane0) / u_step + 1e-4);
    float best = -1e30;
    bool hit = false;
    for (float k = k0; k <= k1; k += 1.0) {
        float t = u_plane0 + k * u_step - base;
        vec3 tex = (u_world_to_tex * vec4(P + t * u_dir, 1.0)).xyz;
        best = max(best, texture(u_volume, tex).r);
        hit = true;
    }
    float v = best * u_scale + u_offset;
    float g = hit ? floor(clamp((v - u_lo) / (u_hi - u_lo), 0.0, 1.0) * 255.0 + 0.5) / 255.0 : 0.0;
    frag = vec4(g, g, g, 1.0);
}
"""

# dtype -> (moderngl dtype, xor to unsigned, texel factor, bias): stored = texel * factor - bias
FORMATS = {
    np.dtype(np.uint8): ("f1", None, 255.0, 0.0),
    np.dtype(np.int16): ("nu2", 0x8000, 65535.0, 32768.0),
    np.dtype(np.uint16): ("nu2", None, 65535.0, 0.0),
    np.dtype(np.float32): ("f4", None, 1.0, 0.0),
}


def setup_env() -> None:
    pass


class Renderer:
    def __init__(self, data, affine, cols, rows, stages, window=None):
        import moderngl

        t = time.perf_counter()
        self.ctx = ctx = moderngl.create_context(standalone=True, backend="egl", require=330)
        stages["context"] = time.perf_counter() - t
        t = time.perf_counter()
        self.prog = ctx.program(vertex_shader=VERT, fragment_shader=FRAG)
        self.vao = ctx.vertex_array(self.prog, [(ctx.buffer(np.array(
            [-1, -1, 3, -1, -1, 3], "f4")), "2f", "pos")])
        stages["compile"] = time.perf_counter() - t
        t = time.perf_counter()
        gl, xor, factor, bias = FORMATS[data.dtype]
        block = np.ascontiguousarray(data.transpose(2, 1, 0))
        if xor is not None:
            block = block.view(np.dtype(f"u{data.itemsize}")) ^ xor
        self.tex = ctx.texture3d(data.shape, 1, block, dtype=gl)
        del block
        self.tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self.tex.repeat_x = self.tex.repeat_y = self.tex.repeat_z = False
        lo, hi = window or (float(data.min()), float(data.max()))
        n = np.array(data.shape, float)
        index_to_tex = np.diag([*(1 / n), 1.0])
        index_to_tex[:3, 3] = 0.5 / n
        inv = np.linalg.inv(affine)
        p = self.prog
        p["u_world_to_tex"].write((index_to_tex @ inv).T.astype("f4").tobytes())
        p["u_world_to_index"].write(inv.T.astype("f4").tobytes())
        p["u_scale"].value, p["u_offset"].value = factor, -bias
        p["u_lo"].value, p["u_hi"].value = lo, (hi if hi > lo else lo + 1)
        p["u_box_lo"].value = (-0.5, -0.5, -0.5)
        p["u_box_hi"].value = tuple(n - 0.5)
        p["u_size"].value = (cols, rows)
        self.fbo = ctx.simple_framebuffer((cols, rows), components=4)
        ctx.finish()
        stages["upload"] = time.perf_counter() - t
        self.cols, self.rows = cols, rows

    def render(self, v):
        p = self.prog
        p["u_center"].value = tuple(v.center)
        p["u_right"].value = tuple(v.right * v.pixel)
        p["u_up"].value = tuple(v.up * v.pixel)
        p["u_dir"].value = tuple(v.d)
        p["u_step"].value = v.step
        p["u_plane0"].value = v.plane0
        self.fbo.use()
        self.tex.use(0)
        self.vao.render(vertices=3)
        img = np.frombuffer(self.fbo.read(components=1, alignment=1), np.uint8)
        return img.reshape(self.rows, self.cols)[::-1].copy()
