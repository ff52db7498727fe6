from setuptools import find_packages, setup

setup(
    name='fgsb',
    version='0.1.0',
    description='Fully Guided Schrodinger Bridge toolbox for few-shot brain MR '
                'contrast synthesis, on MMEngine',
    python_requires='>=3.9',
    packages=find_packages(include=['fgsb', 'fgsb.*']),
    install_requires=[
        # 2.6: torch.load(weights_only=True) refuses every global outside the
        # allow-list, which the checkpoint loader relies on
        'torch>=2.6',
        'mmengine==0.10.7',
        'nibabel>=5.0',
        'scikit-image>=0.21',
        'numpy>=1.24',
        'scipy>=1.10',
        'tensorboard>=2.14',
        'fvcore>=0.1.5',
        'nilearn>=0.10',  # ships the MNI ICBM152 anatomy the phantom is built from
        'SimpleITK>=2.3',  # rigid registration in the data preparers
        'matplotlib>=3.7',  # mmengine's visualizer needs it
        'tqdm>=4.60',
    ],
    extras_require={'test': ['pytest>=7']},
)
