"""Train (fine-tune) any model from a config: a subnet with inherited weights on the source or
the target, a classifier on CUB, a detector on COCO. Same options as train_supernet.py.

    python tools/train.py configs/classification/cub2011_transfer_r50.py --data-root data/CUB_200_2011
    bash tools/dist_train.sh CONFIG 8   # with TRAIN_SCRIPT=tools/train.py
"""
from common.cli import run_cli
from engine.launch import runner_from_args, training_parser


def main(argv=None):
    parser = training_parser('Train or fine-tune a model from a config')
    parser.add_argument('--test', action='store_true',
                        help="evaluate on the config's test set after training")
    args = parser.parse_args(argv)
    runner = runner_from_args(args)
    runner.train()
    if args.test:
        runner.test()


if __name__ == '__main__':
    run_cli(main)
