"""FGSB: few-shot brain MR contrast synthesis with a fully guided Schrodinger bridge."""
__version__ = '0.1.0'
