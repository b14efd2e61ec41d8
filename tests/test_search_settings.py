"""search_cfg: every search setting in the config, parsed once, unknown keys refused; the
command line only writes into it."""
import pytest
from mmengine.config import Config

from search.settings import SearchSettings

FULL = dict(finetune_epochs=3, budget=dict(kind='reweighted', limit=9.5), beam=2,
            tie_tolerance=0.01, input_shape=(3, 800, 1333), beyond_max=1, transfer_method='tli',
            evaluator=dict(type='detection', num_recal_batches=4))


def test_every_setting_comes_from_the_config():
    settings = SearchSettings.from_cfg(FULL)
    assert settings.to_dict() == FULL
    assert settings.evaluator_options == dict(num_recal_batches=4)
    defaults = SearchSettings.from_cfg({})
    assert (defaults.finetune_epochs, defaults.beam, defaults.beyond_max,
            defaults.transfer_method) == (0, 1, 0, 'dpiat')
    assert defaults.budget == dict(kind='blocks', limit=None)
    assert defaults.evaluator == dict(type='classification')


@pytest.mark.parametrize('search_cfg, message', [
    (dict(finetune_epoch=0), r'search_cfg.finetune_epoch: unknown key; allowed: beam, '),
    (dict(budget=dict(kind='weighted')), r"search_cfg.budget.kind='weighted': allowed 'blocks', "
                                         r"'reweighted', 'flops', 'params'"),
    (dict(budget=dict(limt=3)), r'search_cfg.budget.limt: unknown key; allowed: kind, limit'),
    (dict(budget=dict(limit='16')), r"search_cfg.budget.limit='16': allowed a number"),
    (dict(beam=0), r'search_cfg.beam=0: allowed an integer >= 1'),
    (dict(beyond_max=-2), r'search_cfg.beyond_max=-2: allowed an integer >= 0'),
    (dict(beyond_max=True), r'search_cfg.beyond_max=True: allowed an integer >= 0'),
    (dict(finetune_epochs=1.5), r'search_cfg.finetune_epochs=1.5: allowed an integer >= 0'),
    (dict(transfer_method='copy'), r"search_cfg.transfer_method='copy': allowed 'dpiat', 'hmt', "
                                   r"'tli'"),
    (dict(evaluator=[1]), r'search_cfg.evaluator=\[1\]: allowed a dict'),
    (dict(tie_tolerance=-0.1), r'search_cfg.tie_tolerance=-0.1: allowed a real number >= 0'),
    (dict(input_shape=(800, 1333)), r'search_cfg.input_shape=\(800, 1333\): allowed None or '
                                    r'\(C, H, W\)'),
])
def test_bad_settings_name_the_key_the_value_and_what_is_allowed(search_cfg, message):
    with pytest.raises(ValueError, match=message):
        SearchSettings.from_cfg(search_cfg)


def test_a_search_needs_a_limit():
    with pytest.raises(ValueError, match=r'search_cfg.budget.limit is not set'):
        SearchSettings.from_cfg({}).require_budget()


def test_command_line_flags_write_into_search_cfg(tmp_path):
    import importlib.util
    from pathlib import Path
    tool = Path(__file__).resolve().parents[1] / 'tools/greedy_search.py'
    spec = importlib.util.spec_from_file_location('greedy_search_tool', tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = tmp_path / 'search.py'
    config.write_text("model = dict(backbone=dict(type='ResNetSuperNet'))\n"
                      "search_cfg = dict(budget=dict(kind='blocks', limit=16), beam=1)\n")
    _, args = module.parse_args([str(config), '--budget', '12', '--beam', '2', '--beyond-max',
                                 '1', '--transfer-method', 'hmt', '--checkpoint', 'x.pth'])
    cfg = module.search_config(args)
    assert SearchSettings.from_cfg(cfg.search_cfg).to_dict() == dict(
        SearchSettings().to_dict(), budget=dict(kind='blocks', limit=12), beam=2, beyond_max=1,
        transfer_method='hmt')
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained', checkpoint='x.pth',
                                               prefix='backbone.')
    _, args = module.parse_args([str(config)])
    assert module.search_config(args).search_cfg == Config.fromfile(config).search_cfg
