"""Make the ONNX file of the docs' worked example: a small ResNet-like network built and
(briefly) trained in PyTorch, exported with `torch.onnx.export`.

    python docs/examples/export_resnet_like.py resnet_like.onnx [--train-steps N]

PyTorch is needed only here, to make the file; convscope reads it without PyTorch
(`pip install convscope[onnx]`). The network: a 3x3 stem, two residual stages (the second
downsamples, with a strided 1x1 convolution on the shortcut), an Inception-like unit that
concatenates a 1x1, a 3x3, a dilated 3x3 and a pooled path, global average pooling and a
linear classifier over 8 classes -- the photo-patches data set's (`convscope.data`), on
which it is trained for a few steps so that its pictures show something. Batch norm is
kept (a `BatchNormalization` node per layer); the batch and the image size are dynamic, so
`convscope apply` runs its convolutional part over an image of any size.
"""

import argparse

import numpy as np
import torch
from torch import nn


class Residual(nn.Module):
    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity() if stride == 1 and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class Mixed(nn.Module):
    """Four paths of different receptive fields joined along the channels."""

    def __init__(self, c_in, c):
        super().__init__()
        self.b1 = nn.Conv2d(c_in, c, 1)
        self.b3 = nn.Conv2d(c_in, c, 3, padding=1)
        self.b5 = nn.Conv2d(c_in, c, 3, padding=2, dilation=2)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)
        self.bp = nn.Conv2d(c_in, c, 1)

    def forward(self, x):
        paths = [self.b1(x), self.b3(x), self.b5(x), self.bp(self.pool(x))]
        return torch.relu(torch.cat(paths, dim=1))


class ResNetLike(nn.Module):
    def __init__(self, classes=8, width=16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU())
        self.layer1 = Residual(width, width)
        self.layer2 = Residual(width, 2 * width, stride=2)
        self.mixed = Mixed(2 * width, width)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, classes)

    def forward(self, x):
        x = self.mixed(self.layer2(self.layer1(self.stem(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


def train(model, steps, seed=0):
    """A few Adam steps on photo-patches (read by convscope, normalised with the data set's
    own mean and std, as `--dataset photo-patches` does), so that the filters and Grad-CAM
    of the example are not those of noise."""
    from convscope.data import dataset_info, load_dataset

    x, y = load_dataset("photo-patches", True)
    info = dataset_info("photo-patches")
    mean = np.asarray(info.mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(info.std, np.float32).reshape(1, -1, 1, 1)
    x = (x.astype(np.float32) - mean) / std
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    model.train()
    for _ in range(steps):
        i = rng.choice(len(x), 64, replace=False)
        loss = nn.functional.cross_entropy(model(torch.from_numpy(x[i])),
                                           torch.from_numpy(y[i].astype(np.int64)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the .onnx file to write")
    parser.add_argument("--train-steps", type=int, default=150,
                        help="Adam steps on photo-patches (default: 150; 0: untrained)")
    parser.add_argument("--opset", type=int, default=17)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = ResNetLike()
    if args.train_steps:
        train(model, args.train_steps)
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 3, 32, 32), args.out, opset_version=args.opset,
                      input_names=["image"], output_names=["logits"], dynamo=False,
                      dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                    "logits": {0: "batch"}})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
