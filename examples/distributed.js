// The README's multi-process training example. Two processes on this machine:
//   npx torchrnn run --nproc 2 examples/distributed.js
// Each rank trains on its share of every epoch (DistributedSampler); DistributedDataParallel
// averages the gradients, so the ranks keep identical models and together train as one process
// on batches of 32 would.
const torch = require('..');
const { nn, optim, data, distributed: dist } = torch;

class Classifier extends nn.Module {
  lstm = new nn.LSTM({ inputSize: 2, hiddenSize: 16, batchFirst: true });
  head = new nn.Linear(16, 2);
  forward(x, lengths) {
    const [, [h]] = this.lstm.forward(x, lengths ? { lengths } : undefined);
    return this.head.forward(h.select(0, -1));
  }
}

async function main() {
  dist.initProcessGroup({ backend: 'gloo' });   // MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE from the launcher
  const rank = dist.getRank();
  const worldSize = dist.getWorldSize();
  const epochs = Number(process.argv[2] ?? 8);

  // which of two signals is larger on average, over sequences of 5 to 15 steps (the same data on every rank)
  torch.manualSeed(0);
  const samples = Array.from({ length: 256 }, (_, i) => {
    const x = torch.randn([5 + (i % 11), 2]);
    return [x, x.mean(0).argmax().item()];
  });
  const trainSet = samples.slice(0, 192);
  const sampler = new data.DistributedSampler(trainSet, { shuffle: true, seed: 0 });
  const train = new data.DataLoader(trainSet, { batchSize: 32 / worldSize, sampler });   // 32 per step in all
  const valid = new data.DataLoader(samples.slice(192), { batchSize: 64 });

  const model = new nn.parallel.DistributedDataParallel(new Classifier());   // rank 0's initial weights everywhere
  const nll = (out, target) => out.logSoftmax(-1).gather(1, target.unsqueeze(1)).neg().mean();
  const history = await torch.fit({
    model, optimizer: new optim.Adam(model.parameters(), { lr: 1e-2 }), loss: nll,
    data: train, validationData: valid, epochs, progress: rank === 0,
  });
  if (rank === 0) {
    console.log(`${worldSize} ranks, validation loss`, history.valLoss.map((v) => v.toFixed(3)).join(' → '));
    torch.save(model.module.stateDict(), 'distributed.safetensors');   // the bare model's keys
  }
  dist.barrier();               // rank 0 serves the rendezvous store: leave together
  dist.destroyProcessGroup();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
