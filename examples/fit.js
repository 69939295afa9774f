// The README's training example: node examples/fit.js
const torch = require('..');
const { nn, optim, data } = torch;

class Classifier extends nn.Module {
  lstm = new nn.LSTM({ inputSize: 2, hiddenSize: 16, batchFirst: true });
  head = new nn.Linear(16, 2);
  forward(x, lengths) {
    const [, [h]] = this.lstm.forward(x, lengths ? { lengths } : undefined);
    return this.head.forward(h.select(0, -1));
  }
}
// which of two signals is larger on average, over sequences of 5 to 15 steps
torch.manualSeed(0);
const samples = Array.from({ length: 256 }, (_, i) => {
  const x = torch.randn([5 + (i % 11), 2]);
  return [x, x.mean(0).argmax().item()];
});
const train = new data.DataLoader(samples.slice(0, 192), { batchSize: 32, shuffle: true, bucketByLength: true });
const valid = new data.DataLoader(samples.slice(192), { batchSize: 64 });
const model = new Classifier();
const nll = (out, target) => out.logSoftmax(-1).gather(1, target.unsqueeze(1)).neg().mean();
torch.fit({
  model, optimizer: new optim.Adam(model.parameters(), { lr: 1e-2 }), loss: nll,
  data: train, validationData: valid, epochs: 8, progress: true,
  callbacks: [torch.earlyStopping({ patience: 2 })],
}).then((history) => console.log('validation loss', history.valLoss.map((v) => v.toFixed(3)).join(' → ')));
