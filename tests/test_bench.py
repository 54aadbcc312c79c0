"""The speed table: ours and the peers timed in rounds, medians over rounds, our step over the fastest peer."""

from absl import flags

from deeplearn import bench


def peer_round(round_index: int, keras: float, torch: float) -> dict:
  """One round of the peers' runner, as its latest.json holds it."""
  return {'meta': {'threads': 2}, 'peak': [{'gflops_median': 200.0}] if round_index == 0 else [],
          'models': {'mnist': {'train_flops': 2e6}},
          'runs': [{'model': 'mnist', 'framework': 'keras', 'variant': 'nojit', 'ex_per_s': keras, 'ok': True},
                   {'model': 'mnist', 'framework': 'torch', 'variant': 'eager', 'ex_per_s': torch, 'ok': True},
                   {'model': 'mnist', 'framework': 'torch', 'variant': 'compile', 'ok': False}]}


def test_interleaved_table_gives_medians_over_rounds_and_each_rounds_ratio_to_the_fastest_peer(capsys):
  flags.FLAGS(['bench', '--peer_models=mnist'])
  rounds = [({'step_ex_per_s': 300.0, 'loop_ex_per_s': 290.0}, peer_round(0, keras=100.0, torch=150.0)),
            ({'step_ex_per_s': 200.0, 'loop_ex_per_s': 180.0}, peer_round(1, keras=200.0, torch=50.0)),
            ({'step_ex_per_s': 400.0, 'loop_ex_per_s': 390.0}, peer_round(2, keras=100.0, torch=100.0))]
  bench.print_interleaved(rounds)
  table = capsys.readouterr().out
  assert 'Machine matmul peak: 200 GFLOP/s' in table
  assert '| ours, step alone | 300 (200-400) | 1 |' in table  # 300 examples/s x 2 MFLOP = 0.6 GFLOP/s.
  assert '| keras nojit | 100 (100-200) | 0 |' in table
  # Per round: 300/150, 200/200, 400/100.
  assert '| **ours (step) / fastest peer** | **2.00 (1.00-4.00)x** | |' in table
