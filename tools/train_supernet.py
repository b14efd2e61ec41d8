"""Train a super-network on the source dataset with mmengine (one process, or torchrun).

    python tools/train_supernet.py configs/demo/supernet_resnet_fashion.py
    python tools/train_supernet.py configs/supernet/resnet_bottleneck_imagenet.py \
        --data-root /data/imagenet --work-dir work_dirs/r_supernet --resume
    bash tools/dist_train.sh configs/supernet/resnet_bottleneck_imagenet.py 8 --data-root ...
"""
from common.cli import run_cli
from engine.launch import runner_from_args, summarize_validation, training_parser


def main(argv=None):
    args = training_parser('Train a super-network on the source dataset').parse_args(argv)
    runner = runner_from_args(args)
    runner.train()
    summarize_validation(runner)  # held-out top-1 of the deepest and the shallowest subnet


if __name__ == '__main__':
    run_cli(main)
