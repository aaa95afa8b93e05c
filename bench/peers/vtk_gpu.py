"""VTK's vtkGPUVolumeRayCastMapper with MIP blending (EGL, offscreen)."""

from ._vtk import VtkRenderer, setup_env  # noqa: F401

LABEL = "VTK GPU ray cast"
REQUIRES = ["vtk"]
GEOMETRY = ("VTK's volume box ends at the outer voxel centres (not the full-voxel box) and "
            "its samples start at each ray's box entry, not on the sample planes of "
            "docs/conventions.md")


class Renderer(VtkRenderer):
    def make_mapper(self, vtk, step):
        m = vtk.vtkGPUVolumeRayCastMapper()
        m.SetBlendModeToMaximumIntensity()
        m.AutoAdjustSampleDistancesOff()
        m.SetSampleDistance(step)
        m.SetUseJittering(0)
        return m
