"""Image classification (MNIST, Fashion-MNIST, ...) and its experiments: dropout, forgetting, transfer learning."""
