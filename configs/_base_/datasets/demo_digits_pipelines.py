# The demo target's classes, pipelines and metric: scikit-learn's digits, upsampled to 28 px.
# demo_digits.py loads them from the CUB-layout splits, demo_digits_search.py from the search's
# held-out part of the training split.
classes = ('digit-0', 'digit-1', 'digit-2', 'digit-3', 'digit-4', 'digit-5', 'digit-6',
           'digit-7', 'digit-8', 'digit-9')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
val_evaluator = dict(type='Accuracy', topk=(1, ))
