"""Labels, splitters, learners, calibration, evaluation, explanations, training, bundles."""
