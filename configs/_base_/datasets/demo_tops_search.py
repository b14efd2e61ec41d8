# The class-split target as the search sees it (demo_tops.py): the super-network fine-tunes on
# the 'train' part and candidates are scored on the 'search' part; benchmarks re-score a pick on
# the 'rescore' part (val_dataloader.dataset.part='rescore'). The 'test' part stays unseen.
_base_ = ['./demo_tops.py']
val_dataloader = dict(dataset=dict(part='search'))
test_dataloader = None
test_evaluator = None
test_cfg = None
