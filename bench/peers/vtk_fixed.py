"""VTK's vtkFixedPointVolumeRayCastMapper (CPU; the mapper vmtk's MIP viewer uses), MIP."""

from ._vtk import VtkRenderer, setup_env  # noqa: F401

LABEL = "VTK fixed-point CPU (vmtk)"
REQUIRES = ["vtk"]
GEOMETRY = ("VTK's volume box ends at the outer voxel centres and its samples start at each "
            "ray's box entry, not on the sample planes of docs/conventions.md")


class Renderer(VtkRenderer):
    def make_mapper(self, vtk, step):
        m = vtk.vtkFixedPointVolumeRayCastMapper()
        m.SetBlendModeToMaximumIntensity()
        m.AutoAdjustSampleDistancesOff()
        m.LockSampleDistanceToInputSpacingOff()
        m.SetSampleDistance(step)
        m.SetImageSampleDistance(1.0)
        m.SetInteractiveSampleDistance(step)
        return m
