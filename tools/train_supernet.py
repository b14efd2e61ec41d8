"""Train a super-network on the source dataset with mmengine (one process, or torchrun).

    python tools/train_supernet.py configs/demo/supernet_resnet_fashion.py
    python tools/train_supernet.py configs/supernet/resnet_bottleneck_imagenet.py \
        --data-root /data/imagenet --work-dir work_dirs/r_supernet --resume
    bash tools/dist_train.sh configs/supernet/resnet_bottleneck_imagenet.py 8 --data-root ...
"""
import argparse
import os.path as osp

from mmengine.config import Config, DictAction

from supernet.engine.launch import build_runner, summarize_validation


def parse_args():
    parser = argparse.ArgumentParser(description='Train a super-network on the source dataset')
    parser.add_argument('config', help='training config, e.g. configs/supernet/*.py')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--data-root', help="dataset folder; sets every dataloader's data_root")
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from CHECKPOINT, or without a value from the last '
                        'checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true', help='mixed-precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help="scale the LR to the actual batch size (config's auto_scale_lr)")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. train_cfg.max_iters=100')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher (pytorch for torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    runner = build_runner(cfg, launcher=args.launcher, data_root=args.data_root,
                          resume=args.resume, amp=args.amp, auto_scale_lr=args.auto_scale_lr,
                          cfg_options=args.cfg_options)
    runner.train()
    summarize_validation(runner)


if __name__ == '__main__':
    main()
