# "Transfer-R50" is the paper's name for its searched backbone, here a subnet like any other:
# [1, 6, 6, 3], the paper's best on CUB-200-2011 (Sun et al., Table 3), from the weights it
# inherits: python tools/extract_subnet.py SUPERNET --allocation 1,6,6,3 \
#     --out work_dirs/subnet_1-6-6-3.pth
_base_ = './cub2011_r50.py'
model = dict(backbone=dict(stage_blocks=(1, 6, 6, 3),
                           init_cfg=dict(checkpoint='work_dirs/subnet_1-6-6-3.pth')))
