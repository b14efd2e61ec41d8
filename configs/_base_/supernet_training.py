# Training a single-path super-network (Sun et al., Sec. 3.2): DepthSamplingHook draws
# S_i ~ U[1, N_i] per stage every iteration from (seed, iteration), the same on every rank, and
# sets the deepest subnet for validation. Blocks past the sampled depth get no gradient in that
# iteration; DDP must expect that.
custom_hooks = [dict(type='DepthSamplingHook')]
find_unused_parameters = True
