//! Transfer learning on zoo models: the classifier (head) of every family, a model for a new class
//! count whose body comes from pretrained weights ([`with_new_head`]), freezing by name pattern or
//! up to a layer, the body's stages and blocks for discriminative learning rates
//! ([`BodyLayout`]), and a wrapper that keeps the body's batch norms in inference mode
//! ([`NormsInEval`]). The training side (phases, parameter groups, linear probes) is
//! `convkit_train`'s `[finetune]` configuration.
mod freeze;
mod head;
mod layout;
mod norms;

pub use freeze::{freeze, layers_with_parameters, matches_pattern, params_before, set_trainable};
pub use head::{head_name, is_head_tensor, with_new_head};
pub use layout::{BodyLayout, ParamPlace};
pub use norms::{running_stat_layers, NormsInEval};
