# mmdet's Faster-RCNN FPN with a searched subnet as backbone: AllocatedResNet, any allocation of the
# bottleneck space; leaf configs set stage_blocks and the subnet checkpoint from
# tools/extract_subnet.py.
_base_ = ['./faster_rcnn_bottleneck_fpn.py']
model = dict(backbone=dict(type='AllocatedResNet', stage_blocks=(3, 4, 6, 3),
                           init_cfg=dict(checkpoint='work_dirs/subnet.pth')))
