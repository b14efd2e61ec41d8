# Transfer-ResNet50 [1, 6, 6, 3], the paper's best child on CUB-200-2011 (Sun et al., Table 3),
# from its inherited weights: python tools/extract_subnet.py SUPERNET --allocation 1,6,6,3 \
#     --out work_dirs/child_1-6-6-3.pth
_base_ = './cub2011_r50.py'
model = dict(backbone=dict(stage_blocks=(1, 6, 6, 3),
                           init_cfg=dict(checkpoint='work_dirs/child_1-6-6-3.pth')))
