// Loaded only by Stryker (stryker.config.mjs nodeArgs), never by `npm test`:
// a property that fails under a mutant reports its first counterexample
// without shrinking it. The same runs decide killed or survived; shrinking
// would only make the report readable, which a mutant does not need.
import fc from 'fast-check';

fc.configureGlobal({ endOnFailure: true });
