import { MemoryStore } from '../src/store/memory.js';
import { storeConformance } from './store-conformance.js';

storeConformance('MemoryStore', () => Promise.resolve({ store: new MemoryStore(), cleanup: () => Promise.resolve() }));
