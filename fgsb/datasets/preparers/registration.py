"""Rigid registration and resampling of RAS volumes with SimpleITK.

Volumes travel as ``(data, affine)`` pairs in nibabel's RAS convention;
SimpleITK works in LPS, so the conversion flips the first two world axes.
A registration returns an ITK transform that maps a point of the fixed
(reference) image's world to the moving image's world, which is what
``sitk.Resample`` needs to pull the moving image onto the reference grid.
"""
import numpy as np
import SimpleITK as sitk

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])
SHRINK_FACTORS = (4, 2, 1)
SMOOTHING_SIGMAS = (2, 1, 0)  # voxels


def voxel_spacing(affine):
    """The voxel sizes (mm) along the three array axes of ``affine``."""
    return np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)


def _set_geometry(image, affine):
    spacing = voxel_spacing(affine)
    direction = RAS_TO_LPS @ (np.asarray(affine)[:3, :3] / spacing)
    image.SetSpacing([float(s) for s in spacing])
    image.SetDirection([float(d) for d in direction.ravel()])
    image.SetOrigin([float(o) for o in RAS_TO_LPS @ np.asarray(affine)[:3, 3]])
    return image


def to_sitk(data, affine):
    """A SimpleITK float image of a RAS ``(data, affine)`` volume (array axes i, j, k)."""
    # GetImageFromArray reads numpy arrays as (k, j, i).
    array = np.ascontiguousarray(np.asarray(data, dtype=np.float32).transpose(2, 1, 0))
    return _set_geometry(sitk.GetImageFromArray(array), affine)


def grid_image(shape, affine):
    """An empty SimpleITK image on the grid ``(shape, affine)``: a resampling target."""
    return _set_geometry(sitk.Image([int(n) for n in shape], sitk.sitkFloat32), affine)


def grid_with_spacing(shape, affine, spacing):
    """The grid covering the same field of view as ``(shape, affine)`` at ``spacing`` mm.

    The outer corner of the first voxel stays where it is, so the new grid
    starts where the old one did and ends within half a new voxel of its end.
    """
    affine = np.asarray(affine, dtype=float)
    old = voxel_spacing(affine)
    new = np.broadcast_to(np.asarray(spacing, dtype=float), (3,))
    direction = affine[:3, :3] / old
    new_shape = tuple(max(1, int(round(n * o / s))) for n, o, s in zip(shape, old, new))
    new_affine = np.eye(4)
    new_affine[:3, :3] = direction * new
    new_affine[:3, 3] = affine[:3, 3] + direction @ ((new - old) / 2.0)
    return new_shape, new_affine


def resample(data, affine, grid_shape, grid_affine, transform=None, nearest=False):
    """Pull ``(data, affine)`` onto the grid, through ``transform`` if given.

    Linear interpolation for images, nearest neighbour for label maps;
    voxels that fall outside the moving volume become 0.
    """
    interpolator = sitk.sitkNearestNeighbor if nearest else sitk.sitkLinear
    transform = transform if transform is not None else sitk.Transform(3, sitk.sitkIdentity)
    moved = sitk.Resample(to_sitk(data, affine), grid_image(grid_shape, grid_affine),
                          transform, interpolator, 0.0, sitk.sitkFloat32)
    return sitk.GetArrayFromImage(moved).transpose(2, 1, 0)


def _initial_transforms(fixed, moving):
    """Candidate starting poses: the scanner's own alignment and two centrings.

    Raw headers of one session usually agree in world space, but fields of
    view differ (IXI: sagittal T1, axial T2/PD), so centring the geometry
    can start centimetres away; the best candidate by the metric wins.
    """
    centre = fixed.TransformContinuousIndexToPhysicalPoint(
        [(n - 1) / 2.0 for n in fixed.GetSize()])
    header = sitk.Euler3DTransform()
    header.SetCenter(centre)
    yield header
    for mode in (sitk.CenteredTransformInitializerFilter.GEOMETRY,
                 sitk.CenteredTransformInitializerFilter.MOMENTS):
        yield sitk.CenteredTransformInitializer(fixed, moving, sitk.Euler3DTransform(), mode)


def _registration_method(fixed, iterations, samples, seed):
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=50)
    method.SetMetricSamplingStrategy(method.RANDOM)
    # About the same number of samples at every level: enough for a 50-bin
    # joint histogram, and a full-size level costs no more than a coarse one.
    voxels = np.prod(fixed.GetSize())
    method.SetMetricSamplingPercentagePerLevel(
        [min(1.0, samples * f ** 3 / voxels) for f in SHRINK_FACTORS], seed)
    # Gradients at the samples only: gradient images of a whole 256^3 volume
    # per level would cost more than the optimisation itself.
    method.SetMetricUseFixedImageGradientFilter(False)
    method.SetMetricUseMovingImageGradientFilter(False)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=1.0, minStep=1e-4, numberOfIterations=iterations,
        relaxationFactor=0.5, gradientMagnitudeTolerance=1e-8)
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel(list(SHRINK_FACTORS))
    method.SetSmoothingSigmasPerLevel(list(SMOOTHING_SIGMAS))
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    return method


def register_rigid(fixed, moving, iterations=200, samples=50000, seed=1):
    """Rigidly register ``moving`` to ``fixed`` (both RAS ``(data, affine)`` pairs).

    Mattes mutual information (50 bins), regular-step gradient descent over
    an Euler (rotation + translation) transform, three resolutions (shrink
    4, 2, 1; smoothing 2, 1, 0 voxels), about ``samples`` random metric
    samples a level. The sampling uses a fixed ``seed`` so that a rerun
    gives the same transform (SimpleITK reads seed 0 as "seed from the
    clock", so it is refused). Returns the transform from fixed world
    points to moving world points (ITK LPS).
    """
    if seed == 0:
        raise ValueError('seed 0 makes SimpleITK sample from the clock; use seed >= 1')
    fixed_image, moving_image = to_sitk(*fixed), to_sitk(*moving)
    method = _registration_method(fixed_image, iterations, samples, seed)
    method.SetInitialTransform(_best_start(fixed_image, moving_image, samples, seed),
                               inPlace=False)
    return method.Execute(fixed_image, moving_image)


def _best_start(fixed, moving, samples, seed):
    """The initial transform with the lowest metric on block-averaged coarse images."""
    coarse_fixed, coarse_moving = (sitk.BinShrink(image, [SHRINK_FACTORS[0]] * 3)
                                   for image in (fixed, moving))
    method = _registration_method(coarse_fixed, 1, samples, seed)
    method.SetShrinkFactorsPerLevel([1])
    method.SetSmoothingSigmasPerLevel([0])
    method.SetMetricSamplingPercentage(min(1.0, samples / np.prod(coarse_fixed.GetSize())),
                                       seed)
    best, best_value = None, np.inf
    for candidate in _initial_transforms(fixed, moving):
        method.SetInitialTransform(candidate, inPlace=False)
        value = method.MetricEvaluate(coarse_fixed, coarse_moving)
        if value < best_value:
            best, best_value = candidate, value
    return best
