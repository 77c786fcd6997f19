/**
 * Scenarios the simulation found, shrunk to their minimal steps and frozen
 * here as data, so they replay even when the generator changes. Each names
 * the known.ts gap it shows and the invariant it breaks;
 * test/sim-regressions.test.ts runs them (as `todo` until the fix lands).
 */
import type { Expectations } from './known.js';
import type { Scenario } from './plan.js';

export interface Regression {
  name: string;
  /** The SPEC point main misses (checked as SPEC says; every other gap muted). */
  gap: keyof Expectations;
  /** Why it is a todo: the issue that fixes it. */
  todo: string;
  invariant: string;
  scenario: Scenario;
}

export const REGRESSIONS: Regression[] = [
  {
    "name": "a job whose attempt was running when its process died runs again past maxRetries 0",
    "gap": "crashRule",
    "todo": "issue 11.5: a lost attempt counts toward the retry policy",
    "invariant": "attempts",
    "scenario": {
      "seed": 3,
      "store": "json",
      "t0": 1790424847938,
      "zones": [
        "Pacific/Chatham",
        "Pacific/Chatham",
        "Asia/Kolkata"
      ],
      "concurrency": 10,
      "retry": {
        "maxRetries": 2,
        "backoff": {
          "type": "fixed",
          "delay": 100
        }
      },
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 24,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b"
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "a",
            "delay": 0,
            "opts": {
              "id": "j0",
              "retry": {
                "maxRetries": 0,
                "backoff": {
                  "type": "fixed",
                  "delay": 0
                }
              }
            }
          }
        },
        {
          "k": "advance",
          "ms": 1000
        },
        {
          "k": "crash",
          "mode": "kill",
          "at": "now",
          "downMs": 1000
        }
      ]
    }
  },
  {
    "name": "a completion refused by a full disk leaves the job 'running' and 'drained' is emitted anyway",
    "gap": "settleRetry",
    "todo": "issue 11.6: retry a refused settle until the store takes it",
    "invariant": "stats",
    "scenario": {
      "seed": 98,
      "store": "json",
      "t0": 1820021620000,
      "zones": [
        "UTC",
        "UTC"
      ],
      "concurrency": 10,
      "keepCompleted": 3,
      "keepDead": 1000,
      "snapshotEvery": 9,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 1
        },
        {
          "name": "b",
          "retry": {
            "maxRetries": 0,
            "backoff": {
              "type": "fixed",
              "delay": 1000
            }
          }
        },
        {
          "name": "c",
          "timeout": 3000
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "cron",
            "name": "a",
            "expr": "*/20 * * * * *",
            "tz": "UTC",
            "opts": {
              "id": "s0",
              "timeout": 10000
            }
          }
        },
        {
          "k": "fault",
          "fault": "short",
          "after": 2
        },
        {
          "k": "advance",
          "ms": 60883
        }
      ]
    }
  },
  {
    "name": "a clock step forward leaves a scheduleIn job at its old wall-clock due time (the store is not re-based)",
    "gap": "rebase",
    "todo": "issue 13.5: clock steps re-base elapsed-time due times",
    "invariant": "durable",
    "scenario": {
      "seed": 2,
      "store": "json",
      "t0": 1792889552011,
      "zones": [
        "Europe/London",
        "Europe/London",
        "Asia/Kolkata"
      ],
      "concurrency": 4,
      "retry": {
        "maxRetries": 0,
        "backoff": {
          "type": "fixed",
          "delay": 100
        }
      },
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 30,
      "fsync": true,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b"
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "reschedule",
              "id": "j6",
              "offset": 1396634
            },
            {
              "op": "in",
              "name": "a",
              "delay": 23454,
              "opts": {
                "id": "j3",
                "onDuplicate": "reject"
              }
            },
            {
              "op": "in",
              "name": "c",
              "delay": 4065,
              "opts": {
                "id": "j9",
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "fixed",
                    "delay": 5000
                  }
                },
                "timeout": 500,
                "priority": -1,
                "onDuplicate": "replace"
              }
            },
            {
              "op": "every",
              "name": "a",
              "interval": 60000
            }
          ]
        },
        {
          "k": "step",
          "deltaMs": -60973
        }
      ]
    }
  },
  {
    "name": "after a clock step forward a retry runs an hour before its backoff elapsed",
    "gap": "rebase",
    "todo": "issue 13.5: clock steps re-base elapsed-time due times",
    "invariant": "notEarly",
    "scenario": {
      "seed": 5,
      "store": "json",
      "t0": 1790427773316,
      "zones": [
        "Pacific/Chatham",
        "Pacific/Chatham",
        "UTC"
      ],
      "concurrency": 10,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 31,
      "fsync": false,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b",
          "concurrency": 2
        },
        {
          "name": "c",
          "retry": {
            "maxRetries": 1,
            "backoff": {
              "type": "exponential",
              "delay": 500,
              "factor": 3
            }
          },
          "timeout": 1000
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "retry",
              "id": "j5",
              "offset": 376713
            },
            {
              "op": "in",
              "name": "a",
              "delay": 2312723
            },
            {
              "op": "in",
              "name": "a",
              "delay": 805533,
              "opts": {
                "id": "j5",
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "exponential",
                    "delay": 500,
                    "factor": 3,
                    "maxDelay": 4000
                  }
                },
                "onDuplicate": "replace"
              }
            },
            {
              "op": "in",
              "name": "c",
              "delay": 223608,
              "opts": {
                "id": "j8"
              }
            },
            {
              "op": "at",
              "name": "a",
              "offset": 875130,
              "opts": {
                "id": "j2"
              }
            }
          ]
        },
        {
          "k": "step",
          "deltaMs": 3600802
        }
      ]
    }
  },
  {
    "name": "a power cut after the store created its folder loses every acknowledged job",
    "gap": "parentFsync",
    "todo": "issue 11.11: fsync the store folder's parent after creating it",
    "invariant": "durable",
    "scenario": {
      "seed": 86,
      "store": "json",
      "t0": 1793510763954,
      "zones": [
        "America/New_York",
        "America/New_York",
        "Asia/Kolkata"
      ],
      "concurrency": 2,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 40,
      "fsync": true,
      "dirExists": false,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b",
          "timeout": 20000
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "cron",
            "name": "c",
            "expr": "0 * * * *",
            "tz": "Asia/Kolkata",
            "opts": {
              "id": "s1"
            }
          }
        },
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": "now",
          "downMs": 1000
        }
      ]
    }
  },
  {
    "name": "'30 * * * *' in Pacific/Chatham runs at 03:45 local (off its grid) at the spring-forward gap",
    "gap": "cronieDst",
    "todo": "issue 13.1: cronie's DST rule for interval expressions",
    "invariant": "slotOnce",
    "scenario": {
      "seed": 329,
      "store": "json",
      "t0": 1790430118182,
      "zones": [
        "Pacific/Chatham",
        "Pacific/Chatham",
        "Asia/Kolkata"
      ],
      "concurrency": 4,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "timeout": 20000
        },
        {
          "name": "b"
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "c",
              "delay": 166703,
              "opts": {
                "onDuplicate": "keep"
              }
            },
            {
              "op": "retry",
              "id": "j3",
              "offset": 122113
            },
            {
              "op": "cron",
              "name": "a",
              "expr": "30 * * * *",
              "tz": "Pacific/Chatham",
              "misfire": "once",
              "opts": {}
            },
            {
              "op": "cron",
              "name": "b",
              "expr": "0 * * * *",
              "opts": {
                "id": "s1",
                "priority": 0
              }
            }
          ]
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "at",
              "name": "c",
              "offset": 3054950,
              "opts": {
                "priority": -2,
                "onDuplicate": "reject"
              }
            },
            {
              "op": "in",
              "name": "a",
              "delay": 1
            },
            {
              "op": "cancel",
              "id": "j1"
            },
            {
              "op": "get",
              "id": "j6"
            },
            {
              "op": "in",
              "name": "a",
              "delay": 675060,
              "opts": {
                "id": "j3",
                "retry": {
                  "maxRetries": 0,
                  "backoff": {
                    "type": "exponential",
                    "delay": 500,
                    "factor": 2
                  }
                },
                "timeout": 10000
              }
            }
          ]
        }
      ]
    }
  },
  {
    "name": "a scheduleAt job held in the ready queue across a backward clock step runs an hour before its due time",
    "gap": "readyRecheck",
    "todo": "new (simulation): re-check runAt of ready jobs after a backward clock step",
    "invariant": "notEarly",
    "scenario": {
      "seed": 10,
      "store": "json",
      "t0": 1775297485339,
      "zones": [
        "Australia/Lord_Howe",
        "Australia/Lord_Howe",
        "America/New_York"
      ],
      "concurrency": 10,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 11,
      "fsync": true,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b"
        },
        {
          "name": "c",
          "timeout": 1000
        }
      ],
      "steps": [
        {
          "k": "unregister",
          "name": "a"
        },
        {
          "k": "op",
          "op": {
            "op": "at",
            "name": "a",
            "offset": 4290,
            "opts": {
              "id": "j4"
            }
          }
        },
        {
          "k": "advance",
          "ms": 30351
        },
        {
          "k": "step",
          "deltaMs": -3600620
        }
      ]
    }
  },
  {
    "name": "a journal created by a start whose folder fsync failed is reused unsynced; a power cut then loses every acknowledged job",
    "gap": "dirSyncOnOpen",
    "todo": "new (simulation): fsync the store folder at open before appending to a journal found there",
    "invariant": "durable",
    "scenario": {
      "seed": 3758,
      "store": "json",
      "t0": 1774732355043,
      "zones": [
        "Europe/London",
        "Europe/London",
        "UTC"
      ],
      "concurrency": 1,
      "retry": {
        "maxRetries": 1,
        "backoff": {
          "type": "fixed",
          "delay": 1000
        }
      },
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 11,
      "fsync": true,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "timeout": 20000
        },
        {
          "name": "b"
        },
        {
          "name": "c",
          "concurrency": 2,
          "timeout": 3000
        }
      ],
      "steps": [
        {
          "k": "fault",
          "fault": "read-EIO",
          "after": 5
        },
        {
          "k": "advance",
          "ms": 553
        },
        {
          "k": "advance",
          "ms": 30663
        },
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": {
            "calls": 6,
            "side": "before"
          },
          "downMs": 0
        },
        {
          "k": "advance",
          "ms": 1584
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 0,
            "opts": {
              "id": "j6",
              "retry": {
                "maxRetries": 0,
                "backoff": {
                  "type": "fixed",
                  "delay": 0
                }
              }
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "a",
            "delay": 0,
            "opts": {
              "id": "j3"
            }
          }
        }
      ]
    }
  },
  {
    "name": "a short write on a full disk lands a rejected insert; its repair cannot be synced; after a power cut the rejected job is back",
    "gap": "failStop",
    "todo": "issue 11.9: fail-stop when a failed write cannot be undone durably",
    "invariant": "rejected",
    "scenario": {
      "seed": 1,
      "store": "json",
      "t0": 1792883689316,
      "zones": [
        "Europe/London",
        "Europe/London",
        "Asia/Kolkata"
      ],
      "concurrency": 4,
      "retry": {
        "maxRetries": 2,
        "backoff": {
          "type": "exponential",
          "delay": 2000,
          "factor": 3,
          "maxDelay": 4000
        }
      },
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 21,
      "fsync": true,
      "dirExists": true,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 2,
          "retry": {
            "maxRetries": 2,
            "backoff": {
              "type": "fixed",
              "delay": 1000
            }
          }
        },
        {
          "name": "b",
          "retry": {
            "maxRetries": 1,
            "backoff": {
              "type": "exponential",
              "delay": 2000,
              "factor": 2
            }
          }
        },
        {
          "name": "c",
          "retry": {
            "maxRetries": 3,
            "backoff": {
              "type": "exponential",
              "delay": 50,
              "factor": 2
            }
          },
          "timeout": 1000
        }
      ],
      "steps": [
        {
          "k": "fault",
          "fault": "short",
          "after": 3
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "a",
              "delay": 60000,
              "opts": {
                "id": "j0"
              }
            },
            {
              "op": "in",
              "name": "a",
              "delay": 60000,
              "opts": {
                "id": "j1"
              }
            },
            {
              "op": "in",
              "name": "a",
              "delay": 60000,
              "opts": {
                "id": "j2"
              }
            }
          ]
        },
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": "now",
          "downMs": 0
        }
      ]
    }
  },
  {
    "name": "a crash during a misfire catch-up brings the replaced slot back, and the catch-up slot runs again past maxRetries 0",
    "gap": "misfireKept",
    "todo": "new (simulation): persist the catch-up slot before running it (or re-plan a lost occurrence)",
    "invariant": "attempts",
    "scenario": {
      "seed": 40,
      "store": "json",
      "t0": 1827999674000,
      "zones": [
        "Asia/Kolkata",
        "UTC"
      ],
      "concurrency": 4,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 12,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "timeout": 20000
        },
        {
          "name": "b",
          "retry": {
            "maxRetries": 3,
            "backoff": {
              "type": "fixed",
              "delay": 0
            }
          }
        },
        {
          "name": "c",
          "retry": {
            "maxRetries": 1,
            "backoff": {
              "type": "exponential",
              "delay": 500,
              "factor": 2,
              "maxDelay": 4000
            }
          }
        }
      ],
      "steps": [
        {
          "k": "advance",
          "ms": 1191
        },
        {
          "k": "advance",
          "ms": 329
        },
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "a",
            "interval": 60000,
            "opts": {
              "retry": {
                "maxRetries": 0,
                "backoff": {
                  "type": "fixed",
                  "delay": 1000
                }
              },
              "timeout": 2000,
              "priority": 1,
              "onDuplicate": "reject"
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "many",
            "items": [
              {
                "name": "c",
                "delay": 1783,
                "opts": {
                  "id": "j8",
                  "retry": {
                    "maxRetries": 2,
                    "backoff": {
                      "type": "fixed",
                      "delay": 100
                    }
                  }
                }
              },
              {
                "name": "c",
                "offset": 23816
              }
            ]
          }
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "get",
              "id": "j3"
            },
            {
              "op": "reschedule",
              "id": "j7",
              "offset": 1540874
            },
            {
              "op": "at",
              "name": "c",
              "offset": 1933539,
              "opts": {
                "id": "j2",
                "onDuplicate": "reject"
              }
            },
            {
              "op": "in",
              "name": "b",
              "delay": 0,
              "opts": {
                "id": "j0",
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "fixed",
                    "delay": 100
                  }
                }
              }
            }
          ]
        },
        {
          "k": "crash",
          "mode": "kill",
          "at": {
            "calls": 21,
            "side": "before"
          },
          "downMs": 60000
        },
        {
          "k": "advance",
          "ms": 300306
        }
      ]
    }
  },
  {
    "name": "an every schedule running during a clock step keeps its old anchor: its later slots sit off the re-based grid",
    "gap": "shiftRunning",
    "todo": "new (simulation): re-base an every schedule's anchor even while its occurrence runs",
    "invariant": "slotOnce",
    "scenario": {
      "seed": 238,
      "store": "json",
      "t0": 1775310850463,
      "zones": [
        "Pacific/Chatham",
        "Pacific/Chatham",
        "America/New_York"
      ],
      "concurrency": 1,
      "timeout": 30000,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 15,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 3
        },
        {
          "name": "b",
          "timeout": 20000
        },
        {
          "name": "c",
          "concurrency": 2
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "b",
              "delay": 7,
              "opts": {
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "fixed",
                    "delay": 0
                  }
                }
              }
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "c",
                  "delay": 3675,
                  "opts": {
                    "id": "j9"
                  }
                },
                {
                  "name": "a",
                  "delay": 52,
                  "opts": {
                    "id": "j6",
                    "retry": {
                      "maxRetries": 3,
                      "backoff": {
                        "type": "fixed",
                        "delay": 100
                      }
                    },
                    "timeout": 500,
                    "priority": -1
                  }
                },
                {
                  "name": "a",
                  "delay": 293078,
                  "opts": {
                    "id": "j5",
                    "retry": {
                      "maxRetries": 1,
                      "backoff": {
                        "type": "exponential",
                        "delay": 50,
                        "factor": 2,
                        "maxDelay": 4000
                      }
                    }
                  }
                }
              ]
            },
            {
              "op": "reschedule",
              "id": "s0",
              "offset": 456975
            },
            {
              "op": "cancel",
              "id": "j1"
            },
            {
              "op": "reschedule",
              "id": "s1",
              "offset": 972559
            },
            {
              "op": "get",
              "id": "j1"
            }
          ]
        },
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "c",
            "interval": 300000,
            "opts": {
              "retry": {
                "maxRetries": 3,
                "backoff": {
                  "type": "fixed",
                  "delay": 0
                }
              },
              "onDuplicate": "reject"
            }
          }
        },
        {
          "k": "advance",
          "ms": 300094
        },
        {
          "k": "advance",
          "ms": 30439
        },
        {
          "k": "step",
          "deltaMs": 3600164
        }
      ]
    }
  },
  {
    "name": "'drained' is emitted while a claim is in flight (its job already running in the store)",
    "gap": "drainedClaim",
    "todo": "new (simulation): checkDrained must wait for a claim in flight",
    "invariant": "stats",
    "scenario": {
      "seed": 216,
      "store": "json",
      "t0": 1792877084741,
      "zones": [
        "Europe/London",
        "Europe/London",
        "UTC"
      ],
      "concurrency": 10,
      "timeout": 30000,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 5,
      "fsync": true,
      "dirExists": true,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b",
          "concurrency": 1,
          "timeout": 20000
        },
        {
          "name": "c",
          "timeout": 3000
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "many",
              "items": [
                {
                  "name": "c",
                  "delay": 18792,
                  "opts": {
                    "id": "j3",
                    "retry": {
                      "maxRetries": 2,
                      "backoff": {
                        "type": "exponential",
                        "delay": 2000,
                        "factor": 3,
                        "maxDelay": 4000
                      }
                    },
                    "onDuplicate": "replace"
                  }
                },
                {
                  "name": "a",
                  "delay": 180127,
                  "opts": {
                    "id": "j8",
                    "retry": {
                      "maxRetries": 2,
                      "backoff": {
                        "type": "fixed",
                        "delay": 1000
                      }
                    }
                  }
                }
              ]
            },
            {
              "op": "retry",
              "id": "j3"
            },
            {
              "op": "in",
              "name": "c",
              "delay": 2511037,
              "opts": {
                "id": "j8",
                "retry": {
                  "maxRetries": 0,
                  "backoff": {
                    "type": "fixed",
                    "delay": 100
                  }
                }
              }
            },
            {
              "op": "reschedule",
              "id": "j7",
              "offset": 372425
            },
            {
              "op": "in",
              "name": "b",
              "delay": 10,
              "opts": {
                "id": "j7"
              }
            }
          ]
        },
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": {
            "calls": 37,
            "side": "before"
          },
          "downMs": 3600000
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "cron",
              "name": "b",
              "expr": "* * * * *",
              "tz": "Europe/London",
              "misfire": "skip",
              "opts": {
                "onDuplicate": "reject"
              }
            },
            {
              "op": "cancel",
              "id": "j0"
            }
          ]
        },
        {
          "k": "advance",
          "ms": 3600665
        }
      ]
    }
  },
  {
    "name": "a clock step whose Store.shift fails on EIO is never retried: the delay keeps its old wall-clock due time",
    "gap": "shiftRetry",
    "todo": "new (simulation): retry a refused Store.shift until it lands",
    "invariant": "durable",
    "scenario": {
      "seed": 315,
      "store": "json",
      "t0": 1791030840809,
      "zones": [
        "Australia/Lord_Howe",
        "Australia/Lord_Howe",
        "America/New_York"
      ],
      "concurrency": 2,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "fsync": true,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 1
        },
        {
          "name": "b",
          "concurrency": 2,
          "timeout": 3000
        },
        {
          "name": "c",
          "concurrency": 1,
          "timeout": 1000
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "a",
            "delay": 104847,
            "opts": {
              "id": "j2",
              "retry": {
                "maxRetries": 3,
                "backoff": {
                  "type": "exponential",
                  "delay": 50,
                  "factor": 2
                }
              }
            }
          }
        },
        {
          "k": "fault",
          "fault": "EIO",
          "after": 1
        },
        {
          "k": "step",
          "deltaMs": -2489
        }
      ]
    }
  },
  {
    "name": "a settle retry waiting across a backward clock step waits the whole step: the job stays 'running', unrecorded",
    "gap": "retryWaitStep",
    "todo": "new (simulation): settle-retry sleeps must move with clock steps (or use elapsed time)",
    "invariant": "atLeastOnce",
    "scenario": {
      "seed": 2606,
      "store": "json",
      "t0": 1790425853463,
      "zones": [
        "Pacific/Chatham",
        "Pacific/Chatham",
        "America/New_York"
      ],
      "concurrency": 2,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 20,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "retry": {
            "maxRetries": 2,
            "backoff": {
              "type": "fixed",
              "delay": 1000
            }
          },
          "timeout": 1000
        },
        {
          "name": "b",
          "timeout": 1000
        },
        {
          "name": "c",
          "concurrency": 1
        }
      ],
      "steps": [
        {
          "k": "step",
          "deltaMs": -60308
        },
        {
          "k": "fault",
          "fault": "EIO-landed",
          "after": 10
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 0,
            "opts": {
              "id": "j9",
              "timeout": 500
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "cron",
            "name": "b",
            "expr": "*/20 * * * * *",
            "tz": "America/New_York",
            "opts": {
              "onDuplicate": "replace"
            }
          }
        },
        {
          "k": "advance",
          "ms": 60195
        },
        {
          "k": "step",
          "deltaMs": -3600150
        }
      ]
    }
  },
  {
    "name": "while a full disk holds up a lost attempt's charge after a restart, list() never answers",
    "gap": "readsWait",
    "todo": "new (simulation): get()/list() must not wait for a settle held up by the store",
    "invariant": "settled",
    "scenario": {
      "seed": 3484,
      "store": "json",
      "t0": 1793512290965,
      "zones": [
        "America/New_York",
        "America/New_York",
        "Asia/Kolkata"
      ],
      "concurrency": 1,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "fsync": true,
      "dirExists": true,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 3,
          "timeout": 3000
        },
        {
          "name": "b",
          "concurrency": 1
        },
        {
          "name": "c",
          "concurrency": 2
        }
      ],
      "steps": [
        {
          "k": "advance",
          "ms": 502
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "every",
              "name": "b",
              "interval": 3600000,
              "misfire": "once",
              "limit": 4,
              "opts": {
                "id": "s0",
                "timeout": 2000
              }
            },
            {
              "op": "reschedule",
              "id": "j7",
              "offset": 1671933
            },
            {
              "op": "reschedule",
              "id": "j8",
              "offset": 396820
            },
            {
              "op": "every",
              "name": "c",
              "interval": 3600000,
              "opts": {
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "fixed",
                    "delay": 0
                  }
                }
              }
            },
            {
              "op": "retry",
              "id": "j5",
              "offset": 595160
            }
          ]
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "c",
              "delay": 7878,
              "opts": {
                "id": "j1",
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "fixed",
                    "delay": 1000
                  }
                },
                "onDuplicate": "reject"
              }
            },
            {
              "op": "in",
              "name": "a",
              "delay": 265,
              "opts": {
                "id": "j3",
                "priority": 1
              }
            },
            {
              "op": "cron",
              "name": "a",
              "expr": "0 0 * * *",
              "tz": "America/New_York",
              "opts": {
                "id": "s1",
                "priority": -1
              }
            },
            {
              "op": "in",
              "name": "a",
              "delay": 412,
              "opts": {
                "id": "j3",
                "onDuplicate": "replace"
              }
            },
            {
              "op": "in",
              "name": "b",
              "delay": 5,
              "opts": {
                "id": "j1",
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "exponential",
                    "delay": 50,
                    "factor": 2,
                    "maxDelay": 4000
                  }
                },
                "timeout": 2000,
                "priority": -1
              }
            },
            {
              "op": "in",
              "name": "c",
              "delay": 6
            }
          ]
        },
        {
          "k": "advance",
          "ms": 1688
        },
        {
          "k": "crash",
          "mode": "kill",
          "at": "now",
          "downMs": 60000
        },
        {
          "k": "fault",
          "fault": "ENOSPC",
          "after": 7
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "many",
              "items": [
                {
                  "name": "c",
                  "delay": 38609
                },
                {
                  "name": "c",
                  "delay": 693,
                  "opts": {
                    "id": "j4",
                    "timeout": 500,
                    "onDuplicate": "replace"
                  }
                },
                {
                  "name": "a",
                  "delay": 934675,
                  "opts": {
                    "id": "j2",
                    "onDuplicate": "replace"
                  }
                }
              ]
            },
            {
              "op": "cancel",
              "id": "s0"
            },
            {
              "op": "in",
              "name": "a",
              "delay": 40705,
              "opts": {
                "id": "j6",
                "retry": {
                  "maxRetries": 3,
                  "backoff": {
                    "type": "fixed",
                    "delay": 1000
                  }
                }
              }
            },
            {
              "op": "in",
              "name": "b",
              "delay": 3071
            },
            {
              "op": "list"
            },
            {
              "op": "at",
              "name": "a",
              "offset": 879548,
              "opts": {
                "id": "j4",
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "exponential",
                    "delay": 500,
                    "factor": 3
                  }
                },
                "timeout": 2000
              }
            }
          ]
        }
      ]
    }
  },
    {
      "name": "one failed journal write rejects a claim and a completion; the completion's retry, applied before the claim was reverted, becomes durable and is then reverted in memory: drained while the store says running",
      "gap": "journalWindow",
      "todo": "new (simulation): keep the journal shut until every rejected batch is reverted",
      "invariant": "stats",
      "scenario": {
        "seed": 440,
        "store": "json",
        "t0": 1799546172000,
        "zones": [
          "Asia/Kolkata",
          "UTC"
        ],
        "concurrency": 4,
        "keepCompleted": 1000,
        "keepDead": 1000,
        "snapshotEvery": 34,
        "fsync": true,
        "dirExists": false,
        "latency": [
          2,
          2,
          2,
          1
        ],
        "handlers": [
          {
            "name": "a",
            "timeout": 3000
          },
          {
            "name": "b"
          },
          {
            "name": "c"
          }
        ],
        "steps": [
          {
            "k": "advance",
            "ms": 60476
          },
          {
            "k": "advance",
            "ms": 751
          },
          {
            "k": "advance",
            "ms": 5065
          },
          {
            "k": "burst",
            "ops": [
              {
                "op": "in",
                "name": "a",
                "delay": 3137023,
                "opts": {
                  "id": "j7",
                  "priority": 1,
                  "onDuplicate": "keep"
                }
              },
              {
                "op": "in",
                "name": "c",
                "delay": 5,
                "opts": {
                  "id": "j1",
                  "retry": {
                    "maxRetries": 3,
                    "backoff": {
                      "type": "fixed",
                      "delay": 1000
                    }
                  },
                  "onDuplicate": "keep"
                }
              },
              {
                "op": "reschedule",
                "id": "j9",
                "offset": 1036232
              },
              {
                "op": "in",
                "name": "c",
                "delay": 262508,
                "opts": {
                  "id": "j7",
                  "timeout": 500
                }
              }
            ]
          },
          {
            "k": "op",
            "op": {
              "op": "every",
              "name": "c",
              "interval": 60000,
              "opts": {
                "id": "s2",
                "onDuplicate": "keep"
              }
            }
          },
          {
            "k": "advance",
            "ms": 336
          },
          {
            "k": "crash",
            "mode": "power-prefix",
            "at": "now",
            "downMs": 0
          },
          {
            "k": "advance",
            "ms": 918
          },
          {
            "k": "advance",
            "ms": 1407
          },
          {
            "k": "fault",
            "fault": "EIO",
            "after": 8
          },
          {
            "k": "op",
            "op": {
              "op": "many",
              "items": [
                {
                  "name": "a",
                  "delay": 10,
                  "opts": {
                    "timeout": 2000
                  }
                },
                {
                  "name": "b",
                  "offset": 489521
                },
                {
                  "name": "a",
                  "delay": 0,
                  "opts": {
                    "id": "j6",
                    "onDuplicate": "replace"
                  }
                }
              ]
            }
          },
          {
            "k": "advance",
            "ms": 5600
          }
        ]
      }
    },
    {
      "name": "a scheduleIn made while a refused clock-step re-base is owed is moved by the re-base when it lands",
      "gap": "rebaseFirst",
      "todo": "new (simulation): land an owed re-base before a write that stores new due times",
      "invariant": "durable",
      "scenario": {
        "seed": 734,
        "store": "json",
        "t0": 1823567255000,
        "zones": [
          "UTC",
          "UTC"
        ],
        "concurrency": 4,
        "retry": {
          "maxRetries": 1,
          "backoff": {
            "type": "fixed",
            "delay": 0
          }
        },
        "keepCompleted": 1000,
        "keepDead": 1000,
        "snapshotEvery": 29,
        "fsync": true,
        "dirExists": true,
        "latency": [
          6,
          3,
          1,
          0
        ],
        "handlers": [
          {
            "name": "a",
            "retry": {
              "maxRetries": 3,
              "backoff": {
                "type": "fixed",
                "delay": 100
              }
            }
          },
          {
            "name": "b",
            "timeout": 20000
          },
          {
            "name": "c",
            "retry": {
              "maxRetries": 1,
              "backoff": {
                "type": "exponential",
                "delay": 2000,
                "factor": 2,
                "maxDelay": 4000
              }
            }
          }
        ],
        "steps": [
          {
            "k": "op",
            "op": {
              "op": "cron",
              "name": "c",
              "expr": "*/15 * * * *",
              "tz": "UTC",
              "misfire": "skip",
              "opts": {
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "fixed",
                    "delay": 1000
                  }
                }
              }
            }
          },
          {
            "k": "fault",
            "fault": "EIO",
            "after": 4
          },
          {
            "k": "burst",
            "ops": [
              {
                "op": "retry",
                "id": "j1",
                "offset": 373569
              },
              {
                "op": "in",
                "name": "b",
                "delay": 31521
              },
              {
                "op": "invalid",
                "what": "cron"
              }
            ]
          },
          {
            "k": "step",
            "deltaMs": 60650
          },
          {
            "k": "burst",
            "ops": [
              {
                "op": "in",
                "name": "c",
                "delay": 22963,
                "opts": {
                  "id": "j7",
                  "timeout": 10000
                }
              },
              {
                "op": "at",
                "name": "b",
                "offset": 302856,
                "opts": {
                  "retry": {
                    "maxRetries": 3,
                    "backoff": {
                      "type": "exponential",
                      "delay": 500,
                      "factor": 3
                    }
                  }
                }
              },
              {
                "op": "in",
                "name": "c",
                "delay": 1041,
                "opts": {
                  "id": "j8"
                }
              },
              {
                "op": "in",
                "name": "b",
                "delay": 3,
                "opts": {
                  "id": "j5",
                  "retry": {
                    "maxRetries": 3,
                    "backoff": {
                      "type": "fixed",
                      "delay": 100
                    }
                  }
                }
              }
            ]
          },
          {
            "k": "advance",
            "ms": 1023
          }
        ]
      }
    },
    {
      "name": "a store folder whose first open failed to sync its name into the parent vanishes, acknowledged jobs and all, at a power cut after the retried open",
      "gap": "folderSyncOnOpen",
      "todo": "new (simulation): fsync the store folder's parent at every open, not only after creating it",
      "invariant": "durable",
      "scenario": {
        "seed": 157837112,
        "store": "json",
        "t0": 1775291627837,
        "zones": [
          "Pacific/Chatham",
          "Pacific/Chatham",
          "Asia/Kolkata"
        ],
        "concurrency": 10,
        "retry": {
          "maxRetries": 0,
          "backoff": {
            "type": "fixed",
            "delay": 0
          }
        },
        "timeout": 2000,
        "keepCompleted": 1000,
        "keepDead": 1000,
        "snapshotEvery": 25,
        "fsync": true,
        "dirExists": false,
        "latency": [
          1,
          0,
          0,
          0
        ],
        "handlers": [
          {
            "name": "a",
            "timeout": 20000
          },
          {
            "name": "b"
          },
          {
            "name": "c",
            "retry": {
              "maxRetries": 3,
              "backoff": {
                "type": "fixed",
                "delay": 100
              }
            },
            "timeout": 20000
          }
        ],
        "steps": [
          {
            "k": "fault",
            "fault": "ENOSPC",
            "after": 2
          },
          {
            "k": "op",
            "op": {
              "op": "every",
              "name": "b",
              "interval": 300000
            }
          },
          {
            "k": "crash",
            "mode": "power-prefix",
            "at": {
              "calls": 31,
              "side": "after"
            },
            "downMs": 0
          },
          {
            "k": "crash",
            "mode": "kill",
            "at": "now",
            "downMs": 0
          },
          {
            "k": "advance",
            "ms": 60727
          }
        ]
      }
    },
  {
    "name": "a clock step while an every occurrence's outcome waits to be recorded (the disk refused it): the settle wrote the next slot in the old frame over the re-base",
    "gap": "settleRebase",
    "todo": "new (simulation): an outcome waiting to be recorded moves with a clock step",
    "invariant": "slotOnce",
    "scenario": {
      "seed": 160088024,
      "store": "json",
      "t0": 1814494246000,
      "zones": [
        "America/New_York",
        "UTC"
      ],
      "concurrency": 2,
      "retry": {
        "maxRetries": 0,
        "backoff": {
          "type": "exponential",
          "delay": 500,
          "factor": 2
        }
      },
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 10,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "retry": {
            "maxRetries": 1,
            "backoff": {
              "type": "exponential",
              "delay": 2000,
              "factor": 2,
              "maxDelay": 4000
            }
          }
        },
        {
          "name": "b",
          "concurrency": 3,
          "timeout": 20000
        },
        {
          "name": "c",
          "concurrency": 3,
          "timeout": 20000
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "many",
            "items": [
              {
                "name": "b",
                "delay": 772,
                "opts": {
                  "id": "j6",
                  "priority": 1
                }
              }
            ]
          }
        },
        {
          "k": "op",
          "op": {
            "op": "many",
            "items": [
              {
                "name": "c",
                "delay": 2546182,
                "opts": {
                  "id": "j1",
                  "retry": {
                    "maxRetries": 0,
                    "backoff": {
                      "type": "exponential",
                      "delay": 2000,
                      "factor": 3,
                      "maxDelay": 4000
                    }
                  },
                  "onDuplicate": "reject"
                }
              }
            ]
          }
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "b",
            "delay": 0,
            "opts": {
              "id": "j0",
              "retry": {
                "maxRetries": 1,
                "backoff": {
                  "type": "fixed",
                  "delay": 5000
                }
              }
            }
          }
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "a",
              "delay": 2770983,
              "opts": {
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "fixed",
                    "delay": 0
                  }
                }
              }
            },
            {
              "op": "cron",
              "name": "c",
              "expr": "*/15 * * * *"
            }
          ]
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "cancel",
              "id": "j1"
            },
            {
              "op": "cron",
              "name": "c",
              "expr": "0 3 * * *",
              "limit": 5,
              "opts": {
                "id": "s0"
              }
            },
            {
              "op": "every",
              "name": "c",
              "interval": 60000,
              "misfire": "once",
              "opts": {
                "id": "s1",
                "retry": {
                  "maxRetries": 3,
                  "backoff": {
                    "type": "fixed",
                    "delay": 1000
                  }
                }
              }
            }
          ]
        },
        {
          "k": "advance",
          "ms": 60844
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "b",
            "delay": 428,
            "opts": {
              "id": "j4",
              "retry": {
                "maxRetries": 0,
                "backoff": {
                  "type": "fixed",
                  "delay": 1000
                }
              }
            }
          }
        },
        {
          "k": "fault",
          "fault": "EIO",
          "after": 6
        },
        {
          "k": "advance",
          "ms": 5798
        },
        {
          "k": "step",
          "deltaMs": -2084
        }
      ]
    }
  },
  {
    "name": "an every occurrence that finishes after a backward step, then the next (re-based) slot: the model compared slots across the two frames (a model fault; kept as a replay of a running occurrence across a step)",
    "gap": "shiftRunning",
    "todo": "new (simulation): a clock step re-bases an every schedule even while its occurrence runs",
    "invariant": "slotOnce",
    "scenario": {
      "seed": 160091160,
      "store": "json",
      "t0": 1791038609362,
      "zones": [
        "Australia/Lord_Howe",
        "Australia/Lord_Howe",
        "America/New_York"
      ],
      "concurrency": 10,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 11,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 1
        },
        {
          "name": "b",
          "timeout": 3000
        },
        {
          "name": "c",
          "timeout": 3000
        }
      ],
      "steps": [
        {
          "k": "crash",
          "mode": "kill",
          "at": {
            "calls": 1,
            "side": "after"
          },
          "downMs": 1000
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "b",
            "delay": 1710600,
            "opts": {
              "id": "j8",
              "priority": 1
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "many",
            "items": [
              {
                "name": "b",
                "delay": 104
              }
            ]
          }
        },
        {
          "k": "advance",
          "ms": 60142
        },
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "a",
            "interval": 60000,
            "misfire": "once",
            "opts": {
              "id": "s1",
              "onDuplicate": "reject"
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "cron",
            "name": "a",
            "expr": "*/20 * * * * *",
            "tz": "Australia/Lord_Howe",
            "misfire": "once",
            "opts": {
              "id": "s0",
              "retry": {
                "maxRetries": 1,
                "backoff": {
                  "type": "exponential",
                  "delay": 50,
                  "factor": 3,
                  "maxDelay": 4000
                }
              }
            }
          }
        },
        {
          "k": "advance",
          "ms": 3600189
        },
        {
          "k": "step",
          "deltaMs": -60744
        },
        {
          "k": "advance",
          "ms": 3600046
        }
      ]
    }
  },
  {
    "name": "two clock steps the fail-stopped store never took, then a kill: each delay may end at its old time or at both steps' sum (the harness counted only the last step)",
    "gap": "shiftRetry",
    "todo": "new (simulation harness): steps owed to the store add up",
    "invariant": "slotOnce",
    "scenario": {
      "seed": 167200453,
      "store": "json",
      "t0": 1806128546000,
      "zones": [
        "America/New_York",
        "UTC"
      ],
      "concurrency": 10,
      "retry": {
        "maxRetries": 3,
        "backoff": {
          "type": "exponential",
          "delay": 500,
          "factor": 2
        }
      },
      "keepCompleted": 0,
      "keepDead": 2,
      "snapshotEvery": 14,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 3,
          "timeout": 1000
        },
        {
          "name": "b",
          "concurrency": 2,
          "retry": {
            "maxRetries": 2,
            "backoff": {
              "type": "exponential",
              "delay": 500,
              "factor": 2,
              "maxDelay": 4000
            }
          }
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "c",
              "delay": 0,
              "opts": {
                "onDuplicate": "keep"
              }
            },
            {
              "op": "cron",
              "name": "b",
              "expr": "45 1-3 * * *",
              "tz": "America/New_York",
              "limit": 3,
              "opts": {
                "id": "s0"
              }
            },
            {
              "op": "cancel",
              "id": "j4"
            },
            {
              "op": "in",
              "name": "b",
              "delay": 1414,
              "opts": {
                "id": "j6",
                "timeout": 500
              }
            },
            {
              "op": "every",
              "name": "c",
              "interval": 7000,
              "misfire": "all",
              "limit": 2,
              "opts": {
                "id": "s1",
                "priority": -1,
                "onDuplicate": "keep"
              }
            },
            {
              "op": "in",
              "name": "a",
              "delay": 1031530,
              "opts": {
                "id": "j1"
              }
            }
          ]
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "cancel",
              "id": "s1"
            },
            {
              "op": "every",
              "name": "b",
              "interval": 7000,
              "opts": {
                "id": "s2"
              }
            },
            {
              "op": "get",
              "id": "j2"
            },
            {
              "op": "every",
              "name": "a",
              "interval": 7000
            }
          ]
        },
        {
          "k": "fault",
          "fault": "ENOSPC",
          "after": 5
        },
        {
          "k": "step",
          "deltaMs": -2257
        },
        {
          "k": "step",
          "deltaMs": 60230
        },
        {
          "k": "crash",
          "mode": "kill",
          "at": "now",
          "downMs": 1000
        }
      ]
    }
  },
  {
    "name": "a scheduleMany in flight at a kill whose due item ran and was removed at once (keepCompleted 0) before the recovered records were read: the harness counted it missing (it now counts a started job as stored)",
    "gap": "crashRule",
    "todo": "new (simulation harness): a started job counts as stored",
    "invariant": "atomicMany",
    "scenario": {
      "seed": 182947679,
      "store": "json",
      "t0": 1774727346437,
      "zones": [
        "Europe/London",
        "Europe/London",
        "Asia/Kolkata"
      ],
      "concurrency": 1,
      "retry": {
        "maxRetries": 2,
        "backoff": {
          "type": "fixed",
          "delay": 100
        }
      },
      "timeout": 30000,
      "keepCompleted": 0,
      "keepDead": 1000,
      "snapshotEvery": 38,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b",
          "concurrency": 1,
          "retry": {
            "maxRetries": 0,
            "backoff": {
              "type": "fixed",
              "delay": 1000
            }
          }
        },
        {
          "name": "c",
          "concurrency": 2
        }
      ],
      "steps": [
        {
          "k": "crash",
          "mode": "kill",
          "at": {
            "calls": 8,
            "side": "before"
          },
          "downMs": 3600000
        },
        {
          "k": "op",
          "op": {
            "op": "cron",
            "name": "c",
            "expr": "0 3 * * *",
            "tz": "Europe/London",
            "misfire": "skip",
            "opts": {
              "id": "s1"
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "cron",
            "name": "b",
            "expr": "30 2 * * *",
            "tz": "Europe/London",
            "limit": 1,
            "opts": {
              "id": "s1",
              "onDuplicate": "replace"
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "many",
            "items": [
              {
                "name": "a",
                "offset": 568366,
                "opts": {
                  "id": "j7",
                  "timeout": 10000
                }
              },
              {
                "name": "b",
                "delay": 0,
                "opts": {
                  "id": "j6",
                  "priority": 0
                }
              }
            ]
          }
        }
      ]
    }
  },
  {
    "name": "a reschedule into the past in flight at a kill, beside a duplicate insert of the same id also in flight: the reschedule landed and the job ran at its new time (the harness had applied the pending reschedule to the duplicate's version only)",
    "gap": "crashRule",
    "todo": "new (simulation harness): an undecided call on an id applies to every version it may hold",
    "invariant": "notEarly",
    "scenario": {
      "seed": 182944825,
      "store": "json",
      "t0": 1791040678260,
      "zones": [
        "Australia/Lord_Howe",
        "Australia/Lord_Howe",
        "UTC"
      ],
      "concurrency": 2,
      "timeout": 30000,
      "keepCompleted": 1,
      "keepDead": 1000,
      "snapshotEvery": 37,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "retry": {
            "maxRetries": 0,
            "backoff": {
              "type": "exponential",
              "delay": 500,
              "factor": 3
            }
          },
          "timeout": 3000
        },
        {
          "name": "b"
        },
        {
          "name": "c",
          "concurrency": 1,
          "timeout": 3000
        }
      ],
      "steps": [
        {
          "k": "crash",
          "mode": "kill",
          "at": {
            "calls": 37,
            "side": "after"
          },
          "downMs": 1000
        },
        {
          "k": "op",
          "op": {
            "op": "cron",
            "name": "b",
            "expr": "*/20 * * * * *",
            "tz": "Australia/Lord_Howe",
            "opts": {
              "id": "s0",
              "timeout": 500,
              "priority": 2,
              "onDuplicate": "reject"
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "cancel",
            "id": "s0"
          }
        },
        {
          "k": "advance",
          "ms": 60151
        },
        {
          "k": "advance",
          "ms": 300140
        },
        {
          "k": "advance",
          "ms": 30436
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "b",
            "delay": 50598,
            "opts": {
              "id": "j0",
              "retry": {
                "maxRetries": 1,
                "backoff": {
                  "type": "fixed",
                  "delay": 100
                }
              },
              "priority": -1
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 37043,
            "opts": {}
          }
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 2973926,
            "opts": {
              "id": "j3",
              "retry": {
                "maxRetries": 3,
                "backoff": {
                  "type": "fixed",
                  "delay": 0
                }
              },
              "timeout": 10000
            }
          }
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "c",
              "delay": 346293,
              "opts": {
                "priority": 2
              }
            },
            {
              "op": "in",
              "name": "b",
              "delay": 0
            },
            {
              "op": "in",
              "name": "a",
              "delay": 687678,
              "opts": {
                "id": "j3",
                "timeout": 2000
              }
            },
            {
              "op": "reschedule",
              "id": "j3",
              "offset": -18633
            }
          ]
        }
      ]
    }
  },
  {
    "name": "a job whose attempt was aborted by a stop that could not store its hand-back (EIO), rescheduled into the past after the restart: its lost attempt was charged when it came due and the retry waited its backoff, which the harness called a lost reschedule (it now accepts a charge the record shows)",
    "gap": "crashRule",
    "todo": "new (simulation harness): a reschedule does not erase a pending lost-attempt charge",
    "invariant": "durable",
    "scenario": {
      "seed": 182946485,
      "store": "json",
      "t0": 1808051493000,
      "zones": [
        "Asia/Kolkata",
        "UTC"
      ],
      "concurrency": 4,
      "timeout": 30000,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 10,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b",
          "timeout": 3000
        },
        {
          "name": "c",
          "concurrency": 1,
          "retry": {
            "maxRetries": 2,
            "backoff": {
              "type": "exponential",
              "delay": 500,
              "factor": 3,
              "maxDelay": 4000
            }
          }
        }
      ],
      "steps": [
        {
          "k": "advance",
          "ms": 1020
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "cancel",
              "id": "j9"
            },
            {
              "op": "cancel",
              "id": "j1"
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "a",
                  "delay": 828,
                  "opts": {
                    "retry": {
                      "maxRetries": 3,
                      "backoff": {
                        "type": "exponential",
                        "delay": 500,
                        "factor": 3,
                        "maxDelay": 4000
                      }
                    }
                  }
                },
                {
                  "name": "c",
                  "offset": 594401,
                  "opts": {
                    "retry": {
                      "maxRetries": 1,
                      "backoff": {
                        "type": "exponential",
                        "delay": 50,
                        "factor": 2
                      }
                    },
                    "onDuplicate": "replace"
                  }
                },
                {
                  "name": "c",
                  "offset": 244696,
                  "opts": {
                    "onDuplicate": "keep"
                  }
                },
                {
                  "name": "a",
                  "delay": 21695,
                  "opts": {
                    "id": "j3",
                    "onDuplicate": "reject"
                  }
                }
              ]
            },
            {
              "op": "in",
              "name": "b",
              "delay": 770357
            }
          ]
        },
        {
          "k": "advance",
          "ms": 300183
        },
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": {
            "calls": 12,
            "side": "before"
          },
          "downMs": 0
        },
        {
          "k": "step",
          "deltaMs": -60369
        },
        {
          "k": "advance",
          "ms": 1961
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "invalid",
              "what": "retry"
            },
            {
              "op": "in",
              "name": "a",
              "delay": 2120300,
              "opts": {
                "retry": {
                  "maxRetries": 3,
                  "backoff": {
                    "type": "exponential",
                    "delay": 2000,
                    "factor": 3
                  }
                },
                "timeout": 10000,
                "onDuplicate": "replace"
              }
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "c",
                  "delay": 3779,
                  "opts": {
                    "id": "j4",
                    "onDuplicate": "keep"
                  }
                },
                {
                  "name": "c",
                  "delay": 563408,
                  "opts": {
                    "id": "j7",
                    "retry": {
                      "maxRetries": 3,
                      "backoff": {
                        "type": "fixed",
                        "delay": 5000
                      }
                    },
                    "priority": -2
                  }
                },
                {
                  "name": "a",
                  "delay": 57362,
                  "opts": {
                    "id": "j3"
                  }
                },
                {
                  "name": "c",
                  "delay": 4461,
                  "opts": {
                    "retry": {
                      "maxRetries": 0,
                      "backoff": {
                        "type": "fixed",
                        "delay": 0
                      }
                    }
                  }
                }
              ]
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "b",
                  "offset": 36363,
                  "opts": {
                    "id": "j5"
                  }
                },
                {
                  "name": "b",
                  "delay": 49716,
                  "opts": {
                    "id": "j7",
                    "timeout": 10000,
                    "onDuplicate": "reject"
                  }
                }
              ]
            },
            {
              "op": "in",
              "name": "a",
              "delay": 44793,
              "opts": {
                "id": "j7"
              }
            }
          ]
        },
        {
          "k": "step",
          "deltaMs": 60890
        },
        {
          "k": "step",
          "deltaMs": -3600449
        },
        {
          "k": "fault",
          "fault": "EIO",
          "after": 11
        },
        {
          "k": "advance",
          "ms": 5104
        },
        {
          "k": "restart"
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "every",
              "name": "a",
              "interval": 7000
            },
            {
              "op": "retry",
              "id": "j3"
            },
            {
              "op": "retry",
              "id": "j2",
              "offset": 571557
            },
            {
              "op": "reschedule",
              "id": "j7",
              "offset": -16393
            }
          ]
        }
      ]
    }
  },
  {
    "name": "a job claimed just before a power cut after a forward clock step: the next process charged the lost attempt and its retry waited the backoff in elapsed time, then a backward step brought the retry before the job's first wall-clock due time; the harness called it early (it now follows a charged retry in elapsed time)",
    "gap": "crashRule",
    "todo": "new (simulation harness): a lost attempt's charged retry waits in elapsed time",
    "invariant": "notEarly",
    "scenario": {
      "seed": 195005388,
      "store": "json",
      "t0": 1791025530102,
      "zones": [
        "Australia/Lord_Howe",
        "Australia/Lord_Howe",
        "UTC"
      ],
      "concurrency": 2,
      "keepCompleted": 0,
      "keepDead": 1000,
      "fsync": true,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 1
        },
        {
          "name": "b"
        },
        {
          "name": "c",
          "concurrency": 2,
          "timeout": 20000
        }
      ],
      "steps": [
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": {
            "calls": 12,
            "side": "before"
          },
          "downMs": 60000
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "reschedule",
              "id": "j5",
              "offset": 519705
            },
            {
              "op": "in",
              "name": "b",
              "delay": 0,
              "opts": {
                "id": "j0",
                "priority": -2,
                "onDuplicate": "replace"
              }
            },
            {
              "op": "cancel",
              "id": "j8"
            },
            {
              "op": "at",
              "name": "b",
              "offset": 1802661,
              "opts": {
                "id": "j9",
                "onDuplicate": "reject"
              }
            },
            {
              "op": "invalid",
              "what": "at"
            },
            {
              "op": "in",
              "name": "a",
              "delay": 0,
              "opts": {
                "id": "j8"
              }
            }
          ]
        },
        {
          "k": "step",
          "deltaMs": 3600708
        },
        {
          "k": "step",
          "deltaMs": -3600088
        }
      ]
    }
  },
  {
    "name": "a process killed during its clean close left the new empty journal's name unsynced; the next open reused that journal without a folder fsync and a power cut removed it with a change it had acknowledged (fixed: the reused journal's folder is fsynced before any append)",
    "gap": "dirSyncOnOpen",
    "todo": "new (simulation): fsync the folder before appending to a reused clean-close journal",
    "invariant": "durable",
    "scenario": {
      "seed": 195012166,
      "store": "json",
      "t0": 1791036584997,
      "zones": [
        "Australia/Lord_Howe",
        "Australia/Lord_Howe",
        "Asia/Kolkata"
      ],
      "concurrency": 10,
      "retry": {
        "maxRetries": 0,
        "backoff": {
          "type": "exponential",
          "delay": 50,
          "factor": 2,
          "maxDelay": 4000
        }
      },
      "timeout": 30000,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 27,
      "fsync": true,
      "dirExists": true,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 2,
          "retry": {
            "maxRetries": 1,
            "backoff": {
              "type": "exponential",
              "delay": 2000,
              "factor": 2
            }
          }
        },
        {
          "name": "b",
          "concurrency": 1,
          "retry": {
            "maxRetries": 1,
            "backoff": {
              "type": "fixed",
              "delay": 5000
            }
          }
        },
        {
          "name": "c",
          "concurrency": 3
        }
      ],
      "steps": [
        {
          "k": "crash",
          "mode": "kill",
          "at": {
            "calls": 12,
            "side": "after"
          },
          "downMs": 3600000
        },
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "a",
            "interval": 300000,
            "misfire": "once",
            "opts": {
              "retry": {
                "maxRetries": 1,
                "backoff": {
                  "type": "exponential",
                  "delay": 500,
                  "factor": 2,
                  "maxDelay": 4000
                }
              }
            }
          }
        },
        {
          "k": "restart"
        },
        {
          "k": "op",
          "op": {
            "op": "at",
            "name": "b",
            "offset": 833746,
            "opts": {}
          }
        },
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": {
            "calls": 3,
            "side": "after"
          },
          "downMs": 1000
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "c",
              "delay": 4517,
              "opts": {
                "id": "j8"
              }
            },
            {
              "op": "reschedule",
              "id": "j4",
              "offset": 1615881
            },
            {
              "op": "retry",
              "id": "j2",
              "offset": 569169
            },
            {
              "op": "in",
              "name": "c",
              "delay": 565740
            },
            {
              "op": "cron",
              "name": "b",
              "expr": "*/15 * * * *",
              "tz": "Asia/Kolkata",
              "misfire": "skip",
              "opts": {
                "id": "s1",
                "retry": {
                  "maxRetries": 0,
                  "backoff": {
                    "type": "exponential",
                    "delay": 2000,
                    "factor": 3,
                    "maxDelay": 4000
                  }
                },
                "onDuplicate": "replace"
              }
            }
          ]
        }
      ]
    }
  },
  {
    "name": "an every occurrence rescheduled to before the slot that had just run: the misfire plan took that finished slot as its catch-up and ran it again, then retried it (fixed: slots up to the last finished one are never missed nor run again)",
    "gap": "misfireKept",
    "todo": "new (simulation): a finished slot never runs again after a reschedule moves the occurrence before it",
    "invariant": "attempts",
    "scenario": {
      "seed": 195011763,
      "store": "json",
      "t0": 1824681911000,
      "zones": [
        "America/New_York",
        "UTC"
      ],
      "concurrency": 2,
      "retry": {
        "maxRetries": 1,
        "backoff": {
          "type": "exponential",
          "delay": 2000,
          "factor": 3
        }
      },
      "keepCompleted": 1000,
      "keepDead": 0,
      "snapshotEvery": 28,
      "fsync": true,
      "dirExists": false,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b",
          "concurrency": 3,
          "timeout": 3000
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "b",
            "interval": 300000,
            "misfire": "once",
            "opts": {
              "id": "s0",
              "timeout": 500
            }
          }
        },
        {
          "k": "advance",
          "ms": 300891
        },
        {
          "k": "crash",
          "mode": "kill",
          "at": "now",
          "downMs": 3600000
        },
        {
          "k": "advance",
          "ms": 1365
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "every",
              "name": "a",
              "interval": 3600000,
              "opts": {
                "id": "s1",
                "retry": {
                  "maxRetries": 3,
                  "backoff": {
                    "type": "exponential",
                    "delay": 2000,
                    "factor": 2,
                    "maxDelay": 4000
                  }
                },
                "onDuplicate": "replace"
              }
            },
            {
              "op": "invalid",
              "what": "at"
            },
            {
              "op": "reschedule",
              "id": "s0",
              "offset": -26431
            }
          ]
        },
        {
          "k": "step",
          "deltaMs": -3600513
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "reschedule",
              "id": "s2",
              "offset": 1540701
            },
            {
              "op": "in",
              "name": "a",
              "delay": 8,
              "opts": {
                "id": "j6"
              }
            },
            {
              "op": "in",
              "name": "b",
              "delay": 980847,
              "opts": {
                "id": "j2",
                "retry": {
                  "maxRetries": 3,
                  "backoff": {
                    "type": "fixed",
                    "delay": 100
                  }
                },
                "timeout": 10000
              }
            },
            {
              "op": "in",
              "name": "c",
              "delay": 5,
              "opts": {
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "exponential",
                    "delay": 500,
                    "factor": 3
                  }
                },
                "priority": 0,
                "onDuplicate": "replace"
              }
            },
            {
              "op": "at",
              "name": "a",
              "offset": 1771545,
              "opts": {
                "id": "j1",
                "onDuplicate": "replace"
              }
            }
          ]
        }
      ]
    }
  },
  {
    "name": "a job running when two retry() calls of it were in flight (both refused, it was not dead): the second call had saved the first's reset of the stop allowance and gave it back after the first's rejection, so two hand-backs at graceful restarts counted as attempts (harness: allowances only grow back on a rejected call)",
    "gap": "crashRule",
    "todo": "new (simulation harness)",
    "invariant": "attempts",
    "scenario": {
      "seed": 196004820,
      "store": "memory",
      "t0": 1823746159000,
      "zones": [
        "UTC",
        "UTC"
      ],
      "concurrency": 10,
      "retry": {
        "maxRetries": 0,
        "backoff": {
          "type": "exponential",
          "delay": 500,
          "factor": 3,
          "maxDelay": 4000
        }
      },
      "keepCompleted": 1000,
      "keepDead": 1000,
      "fsync": true,
      "dirExists": true,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b"
        },
        {
          "name": "c",
          "timeout": 20000
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "many",
              "items": [
                {
                  "name": "b",
                  "delay": 1991468,
                  "opts": {
                    "retry": {
                      "maxRetries": 3,
                      "backoff": {
                        "type": "fixed",
                        "delay": 0
                      }
                    }
                  }
                },
                {
                  "name": "a",
                  "delay": 244629,
                  "opts": {
                    "id": "j5",
                    "onDuplicate": "keep"
                  }
                },
                {
                  "name": "c",
                  "delay": 4887,
                  "opts": {
                    "id": "j2",
                    "timeout": 500
                  }
                }
              ]
            },
            {
              "op": "every",
              "name": "a",
              "interval": 7000,
              "opts": {
                "id": "s1",
                "retry": {
                  "maxRetries": 3,
                  "backoff": {
                    "type": "fixed",
                    "delay": 1000
                  }
                }
              }
            },
            {
              "op": "in",
              "name": "b",
              "delay": 959456,
              "opts": {
                "id": "j6",
                "priority": -2
              }
            },
            {
              "op": "reschedule",
              "id": "j5",
              "offset": 56785
            },
            {
              "op": "invalid",
              "what": "tz"
            },
            {
              "op": "at",
              "name": "b",
              "offset": 644229,
              "opts": {
                "timeout": 2000
              }
            }
          ]
        },
        {
          "k": "advance",
          "ms": 60902
        },
        {
          "k": "restart"
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "cron",
              "name": "a",
              "expr": "*/5 * * * *",
              "misfire": "all",
              "opts": {
                "id": "s1",
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "fixed",
                    "delay": 100
                  }
                },
                "timeout": 10000,
                "onDuplicate": "replace"
              }
            },
            {
              "op": "retry",
              "id": "j5"
            },
            {
              "op": "retry",
              "id": "j5"
            }
          ]
        }
      ]
    }
  },
  {
    "name": "a reschedule in flight at a kill never landed; a backward clock step then moved the job's own elapsed-time due before the reschedule's time and it ran there, which the harness called early (harness: an undecided reschedule's bound moves back with steps when the old due is elapsed time)",
    "gap": "crashRule",
    "todo": "new (simulation harness)",
    "invariant": "notEarly",
    "scenario": {
      "seed": 196001452,
      "store": "json",
      "t0": 1814295142000,
      "zones": [
        "America/New_York",
        "UTC"
      ],
      "concurrency": 1,
      "keepCompleted": 1000,
      "keepDead": 3,
      "snapshotEvery": 19,
      "fsync": true,
      "dirExists": true,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "retry": {
            "maxRetries": 3,
            "backoff": {
              "type": "fixed",
              "delay": 1000
            }
          }
        },
        {
          "name": "b",
          "concurrency": 2,
          "retry": {
            "maxRetries": 1,
            "backoff": {
              "type": "exponential",
              "delay": 2000,
              "factor": 2
            }
          }
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "cancel",
              "id": "j1"
            },
            {
              "op": "in",
              "name": "c",
              "delay": 1,
              "opts": {
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "fixed",
                    "delay": 1000
                  }
                }
              }
            },
            {
              "op": "get",
              "id": "j0"
            },
            {
              "op": "in",
              "name": "a",
              "delay": 3342465,
              "opts": {
                "retry": {
                  "maxRetries": 3,
                  "backoff": {
                    "type": "exponential",
                    "delay": 2000,
                    "factor": 2,
                    "maxDelay": 4000
                  }
                },
                "priority": 1
              }
            },
            {
              "op": "in",
              "name": "c",
              "delay": 627378,
              "opts": {
                "id": "j4",
                "retry": {
                  "maxRetries": 3,
                  "backoff": {
                    "type": "exponential",
                    "delay": 500,
                    "factor": 2
                  }
                },
                "timeout": 10000,
                "onDuplicate": "keep"
              }
            }
          ]
        },
        {
          "k": "crash",
          "mode": "kill",
          "at": {
            "calls": 1,
            "side": "before"
          },
          "downMs": 60000
        },
        {
          "k": "op",
          "op": {
            "op": "reschedule",
            "id": "j4",
            "offset": -11042
          }
        },
        {
          "k": "step",
          "deltaMs": -3600518
        }
      ]
    }
  },
  {
    "name": "a reschedule and a replacing insert of the same id in flight together: the reschedule landed after the replace and moved the new job, which the harness did not expect (harness: an undecided reschedule or retry may land on an insert made after it started)",
    "gap": "crashRule",
    "todo": "new (simulation harness)",
    "invariant": "notEarly",
    "scenario": {
      "seed": 196014587,
      "store": "json",
      "t0": 1825506846000,
      "zones": [
        "Asia/Kolkata",
        "UTC"
      ],
      "concurrency": 1,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 28,
      "fsync": true,
      "dirExists": true,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "retry": {
            "maxRetries": 3,
            "backoff": {
              "type": "exponential",
              "delay": 500,
              "factor": 3,
              "maxDelay": 4000
            }
          },
          "timeout": 3000
        },
        {
          "name": "b"
        },
        {
          "name": "c",
          "concurrency": 2,
          "retry": {
            "maxRetries": 0,
            "backoff": {
              "type": "fixed",
              "delay": 0
            }
          },
          "timeout": 1000
        }
      ],
      "steps": [
        {
          "k": "crash",
          "mode": "kill",
          "at": {
            "calls": 3,
            "side": "before"
          },
          "downMs": 3600000
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "b",
              "delay": 141265,
              "opts": {
                "id": "j1",
                "priority": 1
              }
            },
            {
              "op": "reschedule",
              "id": "j0",
              "offset": 896122
            },
            {
              "op": "at",
              "name": "a",
              "offset": 2243930,
              "opts": {
                "id": "j1",
                "timeout": 500
              }
            },
            {
              "op": "cron",
              "name": "c",
              "expr": "* * * * *",
              "tz": "UTC",
              "misfire": "skip",
              "limit": 2,
              "opts": {
                "id": "s0",
                "priority": 2,
                "onDuplicate": "reject"
              }
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "a",
                  "delay": 3419668,
                  "opts": {
                    "id": "j0",
                    "retry": {
                      "maxRetries": 1,
                      "backoff": {
                        "type": "fixed",
                        "delay": 5000
                      }
                    },
                    "onDuplicate": "replace"
                  }
                },
                {
                  "name": "c",
                  "delay": 690125,
                  "opts": {
                    "id": "j7",
                    "retry": {
                      "maxRetries": 1,
                      "backoff": {
                        "type": "fixed",
                        "delay": 0
                      }
                    },
                    "onDuplicate": "reject"
                  }
                }
              ]
            }
          ]
        }
      ]
    }
  },
  {
    "name": "a clock step whose re-base hit a short write before the final drain: the drain ended before the retried re-base landed and compared a schedule's shifted slot with the store's old frame (harness: the final drain waits for an owed re-base)",
    "gap": "crashRule",
    "todo": "new (simulation harness)",
    "invariant": "durable",
    "scenario": {
      "seed": 196010498,
      "store": "json",
      "t0": 1772951977923,
      "zones": [
        "America/New_York",
        "America/New_York",
        "Asia/Kolkata"
      ],
      "concurrency": 1,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 21,
      "fsync": false,
      "dirExists": true,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 2,
          "retry": {
            "maxRetries": 3,
            "backoff": {
              "type": "exponential",
              "delay": 2000,
              "factor": 2,
              "maxDelay": 4000
            }
          }
        },
        {
          "name": "b"
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "b",
              "delay": 249132,
              "opts": {
                "timeout": 500
              }
            },
            {
              "op": "every",
              "name": "c",
              "interval": 300000,
              "misfire": "once",
              "opts": {
                "id": "s1"
              }
            },
            {
              "op": "in",
              "name": "c",
              "delay": 580,
              "opts": {
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "exponential",
                    "delay": 500,
                    "factor": 2
                  }
                },
                "priority": -2,
                "onDuplicate": "reject"
              }
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "c",
                  "delay": 5,
                  "opts": {}
                },
                {
                  "name": "c",
                  "offset": 3386,
                  "opts": {
                    "id": "j1",
                    "retry": {
                      "maxRetries": 3,
                      "backoff": {
                        "type": "exponential",
                        "delay": 2000,
                        "factor": 3
                      }
                    }
                  }
                },
                {
                  "name": "b",
                  "offset": 277013,
                  "opts": {
                    "id": "j1"
                  }
                }
              ]
            }
          ]
        },
        {
          "k": "advance",
          "ms": 300996
        },
        {
          "k": "fault",
          "fault": "short",
          "after": 5
        },
        {
          "k": "advance",
          "ms": 60779
        },
        {
          "k": "step",
          "deltaMs": 3600108
        }
      ]
    }
  },
  {
    "name": "a misfire plan of an every schedule waited to be recorded (EIO) across a 2 s backward clock step: the catch-up was recorded in the new frame but the misfired event reported it in the old one, so the catch-up looked like a slot the event had declared missed (fixed: misfired reports the catch-up as recorded)",
    "gap": "settleRebase",
    "todo": "new (simulation): misfired reports the recorded catch-up",
    "invariant": "slotOnce",
    "scenario": {
      "seed": 196013933,
      "store": "json",
      "t0": 1791019890192,
      "zones": [
        "Australia/Lord_Howe",
        "Australia/Lord_Howe",
        "America/New_York"
      ],
      "concurrency": 4,
      "retry": {
        "maxRetries": 3,
        "backoff": {
          "type": "exponential",
          "delay": 2000,
          "factor": 2
        }
      },
      "timeout": 2000,
      "keepCompleted": 0,
      "keepDead": 1000,
      "snapshotEvery": 26,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "retry": {
            "maxRetries": 0,
            "backoff": {
              "type": "exponential",
              "delay": 2000,
              "factor": 3,
              "maxDelay": 4000
            }
          },
          "timeout": 1000
        },
        {
          "name": "b"
        },
        {
          "name": "c",
          "retry": {
            "maxRetries": 0,
            "backoff": {
              "type": "fixed",
              "delay": 0
            }
          }
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "at",
            "name": "a",
            "offset": 1325918,
            "opts": {}
          }
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 0
          }
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "every",
              "name": "c",
              "interval": 3600000,
              "misfire": "skip",
              "opts": {
                "id": "s1",
                "timeout": 500,
                "priority": 0
              }
            },
            {
              "op": "cancel",
              "id": "j9"
            },
            {
              "op": "cron",
              "name": "b",
              "expr": "0 3 * * *",
              "tz": "Australia/Lord_Howe",
              "misfire": "all",
              "opts": {
                "retry": {
                  "maxRetries": 3,
                  "backoff": {
                    "type": "exponential",
                    "delay": 50,
                    "factor": 3,
                    "maxDelay": 4000
                  }
                },
                "timeout": 10000
              }
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "a",
                  "offset": 260477,
                  "opts": {
                    "retry": {
                      "maxRetries": 3,
                      "backoff": {
                        "type": "exponential",
                        "delay": 2000,
                        "factor": 2,
                        "maxDelay": 4000
                      }
                    },
                    "timeout": 2000
                  }
                },
                {
                  "name": "b",
                  "offset": 22794
                },
                {
                  "name": "c",
                  "delay": 6953,
                  "opts": {
                    "id": "j8"
                  }
                }
              ]
            },
            {
              "op": "cancel",
              "id": "j7"
            },
            {
              "op": "every",
              "name": "c",
              "interval": 60000,
              "misfire": "once",
              "opts": {
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "fixed",
                    "delay": 1000
                  }
                },
                "priority": 1,
                "onDuplicate": "reject"
              }
            }
          ]
        },
        {
          "k": "advance",
          "ms": 56
        },
        {
          "k": "step",
          "deltaMs": -3600790
        },
        {
          "k": "advance",
          "ms": 60529
        },
        {
          "k": "advance",
          "ms": 30331
        },
        {
          "k": "fault",
          "fault": "EIO-landed",
          "after": 4
        },
        {
          "k": "advance",
          "ms": 300748
        },
        {
          "k": "step",
          "deltaMs": -2223
        }
      ]
    }
  },
  {
    "name": "a handler replaced a job its own claim had taken but not yet started (a MemoryStore insert is synchronous): the store answered 'running', no attempt existed here to abort, and the replaced version then started (fixed: a job cancelled or replaced while its claim is in flight goes back token-checked instead of starting)",
    "gap": "drainedClaim",
    "todo": "new (simulation): a job cancelled or replaced between its claim and its start never starts",
    "invariant": "noRerun",
    "scenario": {
      "seed": 197012713,
      "store": "memory",
      "t0": 1810724170000,
      "zones": [
        "America/New_York",
        "UTC"
      ],
      "concurrency": 2,
      "retry": {
        "maxRetries": 3,
        "backoff": {
          "type": "fixed",
          "delay": 0
        }
      },
      "keepCompleted": 1000,
      "keepDead": 1000,
      "fsync": true,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 3
        },
        {
          "name": "b",
          "retry": {
            "maxRetries": 3,
            "backoff": {
              "type": "fixed",
              "delay": 5000
            }
          },
          "timeout": 1000
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "advance",
          "ms": 962
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "a",
              "delay": 0,
              "opts": {
                "id": "j4"
              }
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "b",
                  "delay": 4,
                  "opts": {
                    "id": "j9",
                    "timeout": 500
                  }
                },
                {
                  "name": "a",
                  "delay": 0,
                  "opts": {
                    "id": "j6",
                    "retry": {
                      "maxRetries": 1,
                      "backoff": {
                        "type": "fixed",
                        "delay": 0
                      }
                    },
                    "priority": -2
                  }
                },
                {
                  "name": "b",
                  "delay": 2504536
                }
              ]
            },
            {
              "op": "in",
              "name": "c",
              "delay": 3413320,
              "opts": {
                "id": "j2"
              }
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "a",
                  "delay": 0,
                  "opts": {
                    "id": "j3"
                  }
                },
                {
                  "name": "a",
                  "delay": 145686
                },
                {
                  "name": "c",
                  "offset": 51145
                }
              ]
            }
          ]
        }
      ]
    }
  },
  {
    "name": "two retry() calls of an id in flight with an insert of it: the second saved the first's pending bound (a wall time) and restored it after the first was rejected, so a backward clock step no longer moved the job's own elapsed-time due back and its start looked early (harness: an undecided revive's bound moves back with steps when the job's own due is elapsed time, as for a reschedule)",
    "gap": "crashRule",
    "todo": "new (simulation): harness, undecided retry() bound across a backward step",
    "invariant": "notEarly",
    "scenario": {
      "seed": 197014654,
      "store": "json",
      "t0": 1805328122000,
      "zones": [
        "America/New_York",
        "UTC"
      ],
      "concurrency": 1,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 19,
      "fsync": false,
      "dirExists": false,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b",
          "concurrency": 1
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "retry",
              "id": "j9"
            },
            {
              "op": "in",
              "name": "a",
              "delay": 9993,
              "opts": {
                "id": "j9",
                "timeout": 2000
              }
            },
            {
              "op": "retry",
              "id": "j9"
            },
            {
              "op": "in",
              "name": "b",
              "delay": 0,
              "opts": {
                "id": "j4",
                "retry": {
                  "maxRetries": 0,
                  "backoff": {
                    "type": "fixed",
                    "delay": 5000
                  }
                },
                "timeout": 10000
              }
            },
            {
              "op": "reschedule",
              "id": "j8",
              "offset": 1512062
            },
            {
              "op": "every",
              "name": "b",
              "interval": 7000,
              "misfire": "skip",
              "limit": 1,
              "opts": {
                "id": "s1",
                "timeout": 2000
              }
            }
          ]
        },
        {
          "k": "step",
          "deltaMs": -3600073
        }
      ]
    }
  },
  {
    "name": "an every schedule's occurrence came due while the disk was full: its claim failed and is retried after 1 s, but the final drain waited only for one-off jobs, so the occurrence looked never run (harness: the drain also waits for a schedule's due occurrence)",
    "gap": "crashRule",
    "todo": "new (simulation): harness, the final drain waits for due schedule occurrences",
    "invariant": "atLeastOnce",
    "scenario": {
      "seed": 197003389,
      "store": "json",
      "t0": 1793507927220,
      "zones": [
        "America/New_York",
        "America/New_York",
        "America/New_York"
      ],
      "concurrency": 10,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 28,
      "fsync": false,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b",
          "timeout": 1000
        },
        {
          "name": "c",
          "retry": {
            "maxRetries": 2,
            "backoff": {
              "type": "fixed",
              "delay": 1000
            }
          }
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "every",
              "name": "c",
              "interval": 60000,
              "opts": {
                "id": "s0",
                "timeout": 2000,
                "priority": 2
              }
            },
            {
              "op": "every",
              "name": "a",
              "interval": 60000,
              "misfire": "skip",
              "opts": {
                "id": "s2"
              }
            },
            {
              "op": "every",
              "name": "c",
              "interval": 3600000,
              "misfire": "once",
              "opts": {
                "retry": {
                  "maxRetries": 0,
                  "backoff": {
                    "type": "fixed",
                    "delay": 100
                  }
                },
                "onDuplicate": "reject"
              }
            }
          ]
        },
        {
          "k": "op",
          "op": {
            "op": "cancel",
            "id": "s2"
          }
        },
        {
          "k": "advance",
          "ms": 3600432
        },
        {
          "k": "fault",
          "fault": "short",
          "after": 10
        },
        {
          "k": "advance",
          "ms": 3600600
        }
      ]
    }
  },
  {
    "name": "a Lord Howe cron occurrence due when the run before it ended, its claim failing with EIO: the final drain did not wait for the claim's retry (harness: the drain also waits for a schedule's due occurrence)",
    "gap": "crashRule",
    "todo": "new (simulation): harness, the final drain waits for due schedule occurrences",
    "invariant": "atLeastOnce",
    "scenario": {
      "seed": 197010406,
      "store": "json",
      "t0": 1775310183331,
      "zones": [
        "Australia/Lord_Howe",
        "Australia/Lord_Howe",
        "America/New_York"
      ],
      "concurrency": 10,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 34,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b",
          "retry": {
            "maxRetries": 3,
            "backoff": {
              "type": "exponential",
              "delay": 2000,
              "factor": 3
            }
          }
        },
        {
          "name": "c",
          "concurrency": 2,
          "retry": {
            "maxRetries": 1,
            "backoff": {
              "type": "fixed",
              "delay": 1000
            }
          },
          "timeout": 3000
        }
      ],
      "steps": [
        {
          "k": "restart"
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "cancel",
              "id": "j4"
            },
            {
              "op": "list"
            },
            {
              "op": "in",
              "name": "a",
              "delay": 38126,
              "opts": {
                "id": "j0",
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "fixed",
                    "delay": 100
                  }
                },
                "priority": 0
              }
            },
            {
              "op": "cron",
              "name": "c",
              "expr": "*/20 * * * * *",
              "tz": "Australia/Lord_Howe",
              "opts": {
                "id": "s2",
                "timeout": 10000,
                "priority": 2,
                "onDuplicate": "keep"
              }
            },
            {
              "op": "in",
              "name": "c",
              "delay": 0
            }
          ]
        },
        {
          "k": "advance",
          "ms": 30227
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "get",
              "id": "s2"
            },
            {
              "op": "reschedule",
              "id": "j2",
              "offset": 515791
            },
            {
              "op": "cancel",
              "id": "j5"
            },
            {
              "op": "in",
              "name": "a",
              "delay": 1,
              "opts": {
                "id": "j2"
              }
            }
          ]
        },
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": {
            "calls": 11,
            "side": "after"
          },
          "downMs": 0
        },
        {
          "k": "advance",
          "ms": 3600104
        },
        {
          "k": "advance",
          "ms": 30962
        },
        {
          "k": "advance",
          "ms": 30954
        },
        {
          "k": "advance",
          "ms": 166
        },
        {
          "k": "fault",
          "fault": "EIO-landed",
          "after": 7
        },
        {
          "k": "advance",
          "ms": 30151
        }
      ]
    }
  },
  {
    "name": "a delay, then a reschedule of it to a later wall time undecided at a power cut (it landed), then a forward clock step while the process was down: the model kept only the earlier bound, the delay's, which the step carried past the rescheduled time, so the recovered job's start looked early (harness: an undecided call's later wall-time due is kept as an alternative bound in its own frame)",
    "gap": "crashRule",
    "todo": "new (simulation): harness, an undecided reschedule's bound across a forward step",
    "invariant": "notEarly",
    "scenario": {
      "seed": 198002568,
      "store": "json",
      "t0": 1772949691996,
      "zones": [
        "America/New_York",
        "America/New_York",
        "UTC"
      ],
      "concurrency": 10,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 40,
      "fsync": false,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 2
        },
        {
          "name": "b",
          "concurrency": 2
        },
        {
          "name": "c",
          "concurrency": 3,
          "timeout": 1000
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "many",
            "items": [
              {
                "name": "a",
                "delay": 16022,
                "opts": {
                  "retry": {
                    "maxRetries": 3,
                    "backoff": {
                      "type": "exponential",
                      "delay": 2000,
                      "factor": 3,
                      "maxDelay": 4000
                    }
                  },
                  "onDuplicate": "keep"
                }
              },
              {
                "name": "b",
                "delay": 934,
                "opts": {
                  "id": "j0",
                  "timeout": 500,
                  "onDuplicate": "reject"
                }
              },
              {
                "name": "c",
                "offset": 296296,
                "opts": {
                  "id": "j7",
                  "timeout": 10000
                }
              },
              {
                "name": "c",
                "delay": 0
              }
            ]
          }
        },
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": {
            "calls": 3,
            "side": "after"
          },
          "downMs": 1000
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "reschedule",
              "id": "j3",
              "offset": 546463
            },
            {
              "op": "in",
              "name": "c",
              "delay": 234,
              "opts": {
                "id": "j2"
              }
            },
            {
              "op": "reschedule",
              "id": "j0",
              "offset": 1358408
            },
            {
              "op": "every",
              "name": "a",
              "interval": 3600000,
              "misfire": "once"
            },
            {
              "op": "cron",
              "name": "b",
              "expr": "0 * * * *",
              "tz": "America/New_York",
              "misfire": "all",
              "limit": 1,
              "opts": {}
            },
            {
              "op": "retry",
              "id": "j6"
            }
          ]
        },
        {
          "k": "step",
          "deltaMs": 3600689
        }
      ]
    }
  },
  {
    "name": "the same after a kill: scheduleIn(775), a reschedule to 11 minutes later undecided at the kill, a one-hour forward step while down (harness: alternative bound)",
    "gap": "crashRule",
    "todo": "new (simulation): harness, an undecided reschedule's bound across a forward step",
    "invariant": "notEarly",
    "scenario": {
      "seed": 198001008,
      "store": "json",
      "t0": 1808897246000,
      "zones": [
        "America/New_York",
        "UTC"
      ],
      "concurrency": 10,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 36,
      "fsync": true,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "retry": {
            "maxRetries": 3,
            "backoff": {
              "type": "fixed",
              "delay": 1000
            }
          }
        },
        {
          "name": "b",
          "concurrency": 2,
          "retry": {
            "maxRetries": 1,
            "backoff": {
              "type": "fixed",
              "delay": 0
            }
          }
        },
        {
          "name": "c",
          "concurrency": 3
        }
      ],
      "steps": [
        {
          "k": "advance",
          "ms": 640
        },
        {
          "k": "advance",
          "ms": 30572
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "a",
            "delay": 304,
            "opts": {
              "id": "j1",
              "onDuplicate": "keep"
            }
          }
        },
        {
          "k": "advance",
          "ms": 892
        },
        {
          "k": "advance",
          "ms": 828
        },
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "c",
            "interval": 60000,
            "opts": {}
          }
        },
        {
          "k": "crash",
          "mode": "kill",
          "at": {
            "calls": 24,
            "side": "before"
          },
          "downMs": 3600000
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "a",
            "delay": 0,
            "opts": {
              "id": "j8",
              "onDuplicate": "keep"
            }
          }
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "at",
              "name": "a",
              "offset": 2110027,
              "opts": {
                "id": "j8",
                "retry": {
                  "maxRetries": 0,
                  "backoff": {
                    "type": "fixed",
                    "delay": 0
                  }
                }
              }
            },
            {
              "op": "cancel",
              "id": "j6"
            }
          ]
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "b",
            "delay": 2908,
            "opts": {
              "id": "j6",
              "retry": {
                "maxRetries": 1,
                "backoff": {
                  "type": "exponential",
                  "delay": 50,
                  "factor": 2
                }
              },
              "timeout": 10000
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "at",
            "name": "a",
            "offset": 3307451,
            "opts": {
              "id": "j1",
              "timeout": 10000,
              "onDuplicate": "keep"
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "a",
            "delay": 0,
            "opts": {
              "retry": {
                "maxRetries": 2,
                "backoff": {
                  "type": "exponential",
                  "delay": 500,
                  "factor": 3
                }
              }
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "a",
            "delay": 2226696,
            "opts": {
              "id": "j3",
              "timeout": 500,
              "onDuplicate": "reject"
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "b",
            "delay": 775,
            "opts": {
              "id": "j0",
              "timeout": 10000,
              "onDuplicate": "keep"
            }
          }
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "b",
              "delay": 38028,
              "opts": {
                "id": "j8",
                "priority": 0
              }
            },
            {
              "op": "reschedule",
              "id": "j0",
              "offset": 699779
            },
            {
              "op": "invalid",
              "what": "payload"
            }
          ]
        },
        {
          "k": "step",
          "deltaMs": 3600056
        }
      ]
    }
  },
  {
    "name": "a delay-0 job in a burst starts (and fails into its backoff) in the tick its insert applied, before the caller's await resumes; the model took the insert's acknowledged due time, learned after that start, as the record's (harness)",
    "gap": "crashRule",
    "todo": "harness: a start of the same version after the call was issued supersedes the call's due time",
    "invariant": "durable",
    "scenario": {
      "seed": 201008843,
      "store": "memory",
      "t0": 1790422971699,
      "zones": [
        "Pacific/Chatham",
        "Pacific/Chatham",
        "America/New_York"
      ],
      "concurrency": 2,
      "keepCompleted": 1000,
      "keepDead": 3,
      "fsync": true,
      "dirExists": true,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b",
          "retry": {
            "maxRetries": 2,
            "backoff": {
              "type": "fixed",
              "delay": 1000
            }
          }
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "b",
            "delay": 872297
          }
        },
        {
          "k": "advance",
          "ms": 61
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 4130
          }
        },
        {
          "k": "op",
          "op": {
            "op": "many",
            "items": [
              {
                "name": "c",
                "delay": 0,
                "opts": {
                  "id": "j8",
                  "timeout": 2000
                }
              },
              {
                "name": "a",
                "delay": 439493,
                "opts": {
                  "id": "j5",
                  "retry": {
                    "maxRetries": 1,
                    "backoff": {
                      "type": "fixed",
                      "delay": 100
                    }
                  }
                }
              },
              {
                "name": "b",
                "offset": 173938,
                "opts": {}
              },
              {
                "name": "b",
                "offset": 408374,
                "opts": {
                  "id": "j4",
                  "onDuplicate": "reject"
                }
              }
            ]
          }
        },
        {
          "k": "advance",
          "ms": 300114
        },
        {
          "k": "advance",
          "ms": 30490
        },
        {
          "k": "op",
          "op": {
            "op": "many",
            "items": [
              {
                "name": "b",
                "offset": 489216,
                "opts": {
                  "id": "j5"
                }
              },
              {
                "name": "b",
                "delay": 2729
              },
              {
                "name": "b",
                "delay": 2009384,
                "opts": {}
              }
            ]
          }
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "many",
              "items": [
                {
                  "name": "a",
                  "delay": 25709,
                  "opts": {}
                },
                {
                  "name": "c",
                  "delay": 7685
                },
                {
                  "name": "a",
                  "delay": 0,
                  "opts": {
                    "id": "j2",
                    "onDuplicate": "keep"
                  }
                }
              ]
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "c",
                  "delay": 4243
                },
                {
                  "name": "c",
                  "delay": 614,
                  "opts": {
                    "id": "j9"
                  }
                },
                {
                  "name": "c",
                  "offset": 420973,
                  "opts": {
                    "id": "j9",
                    "retry": {
                      "maxRetries": 1,
                      "backoff": {
                        "type": "exponential",
                        "delay": 500,
                        "factor": 3
                      }
                    }
                  }
                },
                {
                  "name": "a",
                  "delay": 1725,
                  "opts": {
                    "id": "j2",
                    "retry": {
                      "maxRetries": 0,
                      "backoff": {
                        "type": "exponential",
                        "delay": 2000,
                        "factor": 2,
                        "maxDelay": 4000
                      }
                    },
                    "timeout": 10000,
                    "priority": 1,
                    "onDuplicate": "keep"
                  }
                }
              ]
            }
          ]
        },
        {
          "k": "advance",
          "ms": 5682
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "cancel",
              "id": "j0"
            },
            {
              "op": "in",
              "name": "c",
              "delay": 3381793,
              "opts": {
                "id": "j7",
                "onDuplicate": "replace"
              }
            },
            {
              "op": "at",
              "name": "c",
              "offset": 960030,
              "opts": {
                "id": "j0"
              }
            },
            {
              "op": "reschedule",
              "id": "j5",
              "offset": 1352793
            }
          ]
        },
        {
          "k": "op",
          "op": {
            "op": "many",
            "items": [
              {
                "name": "b",
                "offset": 506891,
                "opts": {
                  "id": "j4",
                  "retry": {
                    "maxRetries": 0,
                    "backoff": {
                      "type": "exponential",
                      "delay": 50,
                      "factor": 3,
                      "maxDelay": 4000
                    }
                  },
                  "timeout": 500,
                  "onDuplicate": "keep"
                }
              }
            ]
          }
        },
        {
          "k": "advance",
          "ms": 5269
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "invalid",
              "what": "cron"
            },
            {
              "op": "in",
              "name": "c",
              "delay": 6267,
              "opts": {
                "id": "j5",
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "exponential",
                    "delay": 50,
                    "factor": 2,
                    "maxDelay": 4000
                  }
                },
                "onDuplicate": "replace"
              }
            }
          ]
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "c",
              "delay": 298340
            },
            {
              "op": "in",
              "name": "a",
              "delay": 547742,
              "opts": {
                "id": "j2",
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "exponential",
                    "delay": 2000,
                    "factor": 3,
                    "maxDelay": 4000
                  }
                },
                "onDuplicate": "replace"
              }
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "c",
                  "delay": 0,
                  "opts": {
                    "id": "j1",
                    "retry": {
                      "maxRetries": 3,
                      "backoff": {
                        "type": "fixed",
                        "delay": 5000
                      }
                    },
                    "timeout": 500,
                    "onDuplicate": "keep"
                  }
                }
              ]
            }
          ]
        }
      ]
    }
  },
  {
    "name": "a settle refused while a cancel of its job was still being written; the write failed, the cancel was undone, and the job stayed running with no attempt",
    "gap": "settleAfterUndo",
    "todo": "new (simulation): a settle is refused only on durable state",
    "invariant": "stats",
    "scenario": {
      "seed": 202002832,
      "store": "json",
      "t0": 1807237854000,
      "zones": [
        "Asia/Kolkata",
        "UTC"
      ],
      "concurrency": 4,
      "timeout": 30000,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 25,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "timeout": 3000
        },
        {
          "name": "b",
          "concurrency": 3,
          "timeout": 1000
        },
        {
          "name": "c",
          "timeout": 20000
        }
      ],
      "steps": [
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": {
            "calls": 4,
            "side": "after"
          },
          "downMs": 3600000
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "b",
            "delay": 777
          }
        },
        {
          "k": "advance",
          "ms": 152
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "a",
              "delay": 78,
              "opts": {
                "id": "j5",
                "timeout": 500,
                "onDuplicate": "replace"
              }
            },
            {
              "op": "in",
              "name": "c",
              "delay": 690143,
              "opts": {
                "id": "j7",
                "retry": {
                  "maxRetries": 3,
                  "backoff": {
                    "type": "exponential",
                    "delay": 500,
                    "factor": 3,
                    "maxDelay": 4000
                  }
                }
              }
            },
            {
              "op": "reschedule",
              "id": "j1",
              "offset": 888098
            }
          ]
        },
        {
          "k": "fault",
          "fault": "EIO-landed",
          "after": 12
        },
        {
          "k": "op",
          "op": {
            "op": "cron",
            "name": "b",
            "expr": "30 * * * *",
            "tz": "UTC",
            "opts": {
              "retry": {
                "maxRetries": 0,
                "backoff": {
                  "type": "fixed",
                  "delay": 5000
                }
              }
            }
          }
        },
        {
          "k": "restart"
        },
        {
          "k": "advance",
          "ms": 1272
        },
        {
          "k": "advance",
          "ms": 30141
        }
      ]
    }
  },
  {
    "name": "a cancel made while a clock step's re-base was owed overtook the insert made just before it (the insert waited for the re-base, the cancel did not): acknowledged true, the job stayed scheduled",
    "gap": "writeOrder",
    "todo": "new (simulation): calls made while a re-base is owed reach the store in call order",
    "invariant": "durable",
    "scenario": {
      "seed": 206001968,
      "store": "json",
      "t0": 1820120336000,
      "zones": [
        "Asia/Kolkata",
        "UTC"
      ],
      "concurrency": 1,
      "retry": {
        "maxRetries": 2,
        "backoff": {
          "type": "exponential",
          "delay": 50,
          "factor": 2
        }
      },
      "keepCompleted": 0,
      "keepDead": 1000,
      "snapshotEvery": 27,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 2,
          "retry": {
            "maxRetries": 3,
            "backoff": {
              "type": "fixed",
              "delay": 0
            }
          }
        },
        {
          "name": "b"
        },
        {
          "name": "c",
          "concurrency": 2,
          "timeout": 20000
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "a",
            "delay": 523,
            "opts": {
              "id": "j4",
              "timeout": 10000,
              "priority": -1
            }
          }
        },
        {
          "k": "fault",
          "fault": "EIO",
          "after": 6
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 1027411,
            "opts": {
              "id": "j1"
            }
          }
        },
        {
          "k": "step",
          "deltaMs": 2587
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "cancel",
              "id": "j1"
            },
            {
              "op": "every",
              "name": "a",
              "interval": 300000,
              "misfire": "once",
              "opts": {
                "priority": 0
              }
            },
            {
              "op": "cancel",
              "id": "s1"
            },
            {
              "op": "at",
              "name": "a",
              "offset": 1969460,
              "opts": {
                "id": "j4"
              }
            },
            {
              "op": "cancel",
              "id": "j4"
            }
          ]
        }
      ]
    }
  },
  {
    "name": "seed 212038799: an open after a kill recorded the unsynced length of the last journal; a power cut then cut it below that",
    "gap": "syncLastJournal",
    "todo": "new (simulation): an open after a crash fsyncs the last journal before it builds on it",
    "invariant": "reopen",
    "scenario": {
      "seed": 212038799,
      "store": "json",
      "t0": 1791036689555,
      "zones": [
        "Australia/Lord_Howe",
        "Australia/Lord_Howe",
        "UTC"
      ],
      "concurrency": 2,
      "retry": {
        "maxRetries": 3,
        "backoff": {
          "type": "fixed",
          "delay": 1000
        }
      },
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 9,
      "fsync": true,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 2,
          "timeout": 20000
        },
        {
          "name": "b",
          "concurrency": 3,
          "timeout": 1000
        },
        {
          "name": "c",
          "timeout": 20000
        }
      ],
      "steps": [
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": {
            "calls": 9,
            "side": "after"
          },
          "downMs": 0
        },
        {
          "k": "fault",
          "fault": "EIO-landed",
          "after": 2
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 10,
            "opts": {
              "id": "j3",
              "onDuplicate": "reject"
            }
          }
        },
        {
          "k": "crash",
          "mode": "kill",
          "at": {
            "calls": 2,
            "side": "before"
          },
          "downMs": 0
        },
        {
          "k": "advance",
          "ms": 274
        },
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": "now",
          "downMs": 1000
        }
      ]
    }
  },
  {
    "name": "a lost attempt's charge waited to be recorded (EIO) across a backward clock step: failed reported the retry's nextRunAt in the old frame, so the retry, run at the recorded time, looked early",
    "gap": "settleRebase",
    "todo": "new (simulation): an outcome waiting to be recorded moves with a clock step",
    "invariant": "notEarly",
    "scenario": {
      "seed": 234033002,
      "store": "json",
      "t0": 1803164406000,
      "zones": [
        "Asia/Kolkata",
        "UTC"
      ],
      "concurrency": 1,
      "keepCompleted": 1,
      "keepDead": 1000,
      "snapshotEvery": 4,
      "fsync": true,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b",
          "concurrency": 3
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "step",
          "deltaMs": -2816
        },
        {
          "k": "advance",
          "ms": 5440
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "a",
              "delay": 0
            },
            {
              "op": "in",
              "name": "c",
              "delay": 525,
              "opts": {
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "fixed",
                    "delay": 0
                  }
                },
                "onDuplicate": "keep"
              }
            },
            {
              "op": "cron",
              "name": "b",
              "expr": "0 * * * *",
              "opts": {
                "id": "s0",
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "fixed",
                    "delay": 0
                  }
                },
                "priority": 1,
                "onDuplicate": "keep"
              }
            },
            {
              "op": "in",
              "name": "a",
              "delay": 4523,
              "opts": {
                "id": "j3"
              }
            },
            {
              "op": "in",
              "name": "c",
              "delay": 430963,
              "opts": {
                "id": "j1",
                "onDuplicate": "keep"
              }
            }
          ]
        },
        {
          "k": "advance",
          "ms": 1380
        },
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": {
            "calls": 28,
            "side": "after"
          },
          "downMs": 3600000
        },
        {
          "k": "advance",
          "ms": 1232
        },
        {
          "k": "fault",
          "fault": "EIO-landed",
          "after": 9
        },
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "b",
            "interval": 300000,
            "opts": {
              "retry": {
                "maxRetries": 2,
                "backoff": {
                  "type": "exponential",
                  "delay": 2000,
                  "factor": 3,
                  "maxDelay": 4000
                }
              },
              "priority": 0,
              "onDuplicate": "reject"
            }
          }
        },
        {
          "k": "step",
          "deltaMs": -2336
        }
      ]
    }
  },
  {
    "name": "reschedule and retry() of one dead job in one burst, then a kill: the refused reschedule's undo took back the retry's new run in the model (a harness gap, fixed in test/sim/model.ts)",
    "gap": "crashRule",
    "todo": "issue 11.5: a lost attempt counts toward the retry policy",
    "invariant": "attempts",
    "scenario": {
      "seed": 234027543,
      "store": "json",
      "t0": 1813937288000,
      "zones": [
        "America/New_York",
        "UTC"
      ],
      "concurrency": 10,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "retry": {
            "maxRetries": 1,
            "backoff": {
              "type": "fixed",
              "delay": 100
            }
          }
        },
        {
          "name": "b"
        },
        {
          "name": "c",
          "retry": {
            "maxRetries": 3,
            "backoff": {
              "type": "fixed",
              "delay": 5000
            }
          }
        }
      ],
      "steps": [
        {
          "k": "step",
          "deltaMs": -60450
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "a",
            "delay": 377,
            "opts": {
              "id": "j7"
            }
          }
        },
        {
          "k": "advance",
          "ms": 60293
        },
        {
          "k": "crash",
          "mode": "kill",
          "at": {
            "calls": 12,
            "side": "before"
          },
          "downMs": 1000
        },
        {
          "k": "advance",
          "ms": 983
        },
        {
          "k": "op",
          "op": {
            "op": "at",
            "name": "c",
            "offset": 282873,
            "opts": {
              "onDuplicate": "reject"
            }
          }
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "at",
              "name": "a",
              "offset": 71813,
              "opts": {
                "id": "j3",
                "timeout": 2000,
                "onDuplicate": "keep"
              }
            },
            {
              "op": "reschedule",
              "id": "j7",
              "offset": 296107
            },
            {
              "op": "in",
              "name": "b",
              "delay": 9,
              "opts": {
                "id": "j8",
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "exponential",
                    "delay": 500,
                    "factor": 2,
                    "maxDelay": 4000
                  }
                },
                "timeout": 500,
                "onDuplicate": "keep"
              }
            },
            {
              "op": "in",
              "name": "c",
              "delay": 43737,
              "opts": {
                "id": "j2",
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "fixed",
                    "delay": 1000
                  }
                }
              }
            },
            {
              "op": "retry",
              "id": "j7"
            },
            {
              "op": "in",
              "name": "a",
              "delay": 91342,
              "opts": {
                "id": "j3",
                "onDuplicate": "reject"
              }
            }
          ]
        }
      ]
    }
  },
  {
    "name": "a cancel of a scheduled job resolved after a job inserted under its id (onDuplicate 'replace') had started: the cancel aborted the new job's attempt and freed its slot, the store kept it running, and 'drained' came while it was running",
    "gap": "settleAfterUndo",
    "todo": "new (simulation): a cancel aborts only the attempt of the version it cancelled",
    "invariant": "stats",
    "scenario": {
      "seed": 242082905,
      "store": "memory",
      "t0": 1774733402320,
      "zones": [
        "Europe/London",
        "Europe/London",
        "UTC"
      ],
      "concurrency": 4,
      "keepCompleted": 1000,
      "keepDead": 3,
      "fsync": true,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 2,
          "timeout": 3000
        },
        {
          "name": "b"
        },
        {
          "name": "c",
          "concurrency": 2
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "a",
            "delay": 117735,
            "opts": {
              "id": "j9",
              "retry": {
                "maxRetries": 0,
                "backoff": {
                  "type": "exponential",
                  "delay": 2000,
                  "factor": 2,
                  "maxDelay": 4000
                }
              },
              "onDuplicate": "keep"
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 2
          }
        },
        {
          "k": "advance",
          "ms": 1767
        },
        {
          "k": "op",
          "op": {
            "op": "many",
            "items": [
              {
                "name": "b",
                "delay": 223701,
                "opts": {
                  "onDuplicate": "keep"
                }
              }
            ]
          }
        },
        {
          "k": "op",
          "op": {
            "op": "at",
            "name": "b",
            "offset": 122681,
            "opts": {
              "retry": {
                "maxRetries": 3,
                "backoff": {
                  "type": "fixed",
                  "delay": 100
                }
              },
              "timeout": 10000,
              "onDuplicate": "keep"
            }
          }
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "c",
              "delay": 0,
              "opts": {
                "id": "j7",
                "timeout": 500,
                "onDuplicate": "keep"
              }
            },
            {
              "op": "every",
              "name": "a",
              "interval": 7000,
              "misfire": "all"
            }
          ]
        },
        {
          "k": "advance",
          "ms": 1077
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "b",
            "delay": 10,
            "opts": {
              "id": "j5"
            }
          }
        },
        {
          "k": "advance",
          "ms": 30211
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "c",
              "delay": 133599,
              "opts": {
                "id": "j1"
              }
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "a",
                  "offset": 106097,
                  "opts": {
                    "id": "j9",
                    "onDuplicate": "keep"
                  }
                },
                {
                  "name": "a",
                  "offset": 129371,
                  "opts": {
                    "id": "j2",
                    "timeout": 10000
                  }
                }
              ]
            },
            {
              "op": "in",
              "name": "c",
              "delay": 447373,
              "opts": {
                "id": "j5",
                "onDuplicate": "replace"
              }
            },
            {
              "op": "cancel",
              "id": "j5"
            },
            {
              "op": "reschedule",
              "id": "j1",
              "offset": 813626
            },
            {
              "op": "in",
              "name": "a",
              "delay": 0,
              "opts": {
                "id": "j5",
                "onDuplicate": "replace"
              }
            }
          ]
        }
      ]
    }
  },
  {
    "name": "an every schedule whose interval divides a clock step, then a crash that may have lost the step's re-base: a slot finished before the step, moved by it, matched an old-grid slot that had not run, which the store then ran (a harness gap, fixed in test/sim/model.ts)",
    "gap": "rebase",
    "todo": "issue 13.5 / SPEC §4: clock steps re-base elapsed-time due times",
    "invariant": "slotOnce",
    "scenario": {
      "seed": 242074297,
      "store": "json",
      "t0": 1793500507233,
      "zones": [
        "America/New_York",
        "America/New_York",
        "America/New_York"
      ],
      "concurrency": 2,
      "retry": {
        "maxRetries": 2,
        "backoff": {
          "type": "fixed",
          "delay": 5000
        }
      },
      "timeout": 2000,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 1,
          "timeout": 3000
        },
        {
          "name": "b",
          "retry": {
            "maxRetries": 0,
            "backoff": {
              "type": "exponential",
              "delay": 2000,
              "factor": 3
            }
          },
          "timeout": 1000
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "c",
              "delay": 410,
              "opts": {
                "id": "j3",
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "exponential",
                    "delay": 50,
                    "factor": 2
                  }
                }
              }
            },
            {
              "op": "reschedule",
              "id": "j8",
              "offset": 943974
            },
            {
              "op": "cancel",
              "id": "j0"
            },
            {
              "op": "retry",
              "id": "j3",
              "offset": 495079
            },
            {
              "op": "in",
              "name": "c",
              "delay": 8
            },
            {
              "op": "invalid",
              "what": "delay"
            }
          ]
        },
        {
          "k": "crash",
          "mode": "kill",
          "at": {
            "calls": 38,
            "side": "after"
          },
          "downMs": 0
        },
        {
          "k": "advance",
          "ms": 1342
        },
        {
          "k": "op",
          "op": {
            "op": "many",
            "items": [
              {
                "name": "a",
                "offset": 406705,
                "opts": {
                  "id": "j3",
                  "priority": 1,
                  "onDuplicate": "keep"
                }
              },
              {
                "name": "a",
                "offset": 251105,
                "opts": {
                  "id": "j9",
                  "timeout": 2000
                }
              },
              {
                "name": "c",
                "delay": 3476,
                "opts": {
                  "retry": {
                    "maxRetries": 0,
                    "backoff": {
                      "type": "fixed",
                      "delay": 0
                    }
                  }
                }
              },
              {
                "name": "b",
                "delay": 246459,
                "opts": {
                  "id": "j9"
                }
              }
            ]
          }
        },
        {
          "k": "op",
          "op": {
            "op": "cron",
            "name": "b",
            "expr": "30 * * * *",
            "tz": "America/New_York",
            "opts": {
              "onDuplicate": "reject"
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "many",
            "items": [
              {
                "name": "b",
                "delay": 0,
                "opts": {
                  "id": "j8",
                  "timeout": 2000
                }
              },
              {
                "name": "b",
                "delay": 43465,
                "opts": {
                  "id": "j0",
                  "retry": {
                    "maxRetries": 2,
                    "backoff": {
                      "type": "fixed",
                      "delay": 0
                    }
                  }
                }
              },
              {
                "name": "c",
                "delay": 7
              },
              {
                "name": "a",
                "delay": 77,
                "opts": {
                  "id": "j3",
                  "retry": {
                    "maxRetries": 3,
                    "backoff": {
                      "type": "exponential",
                      "delay": 500,
                      "factor": 3,
                      "maxDelay": 4000
                    }
                  }
                }
              }
            ]
          }
        },
        {
          "k": "advance",
          "ms": 5109
        },
        {
          "k": "crash",
          "mode": "kill",
          "at": "now",
          "downMs": 60000
        },
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "a",
            "interval": 300000,
            "misfire": "skip",
            "opts": {}
          }
        },
        {
          "k": "advance",
          "ms": 300700
        },
        {
          "k": "step",
          "deltaMs": 2520
        },
        {
          "k": "advance",
          "ms": 3600572
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "b",
            "delay": 0,
            "opts": {
              "id": "j0",
              "retry": {
                "maxRetries": 0,
                "backoff": {
                  "type": "exponential",
                  "delay": 50,
                  "factor": 3
                }
              },
              "timeout": 10000,
              "priority": -2
            }
          }
        },
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": {
            "calls": 12,
            "side": "after"
          },
          "downMs": 0
        },
        {
          "k": "fault",
          "fault": "EIO",
          "after": 10
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "a",
              "delay": 275,
              "opts": {
                "id": "j4",
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "exponential",
                    "delay": 50,
                    "factor": 2
                  }
                }
              }
            },
            {
              "op": "in",
              "name": "c",
              "delay": 40652,
              "opts": {
                "id": "j7",
                "retry": {
                  "maxRetries": 0,
                  "backoff": {
                    "type": "exponential",
                    "delay": 2000,
                    "factor": 2
                  }
                },
                "timeout": 500,
                "onDuplicate": "replace"
              }
            },
            {
              "op": "cron",
              "name": "a",
              "expr": "*/5 * * * *",
              "limit": 2
            },
            {
              "op": "cron",
              "name": "b",
              "expr": "*/5 * * * *",
              "tz": "America/New_York"
            },
            {
              "op": "retry",
              "id": "j9",
              "offset": 237682
            },
            {
              "op": "reschedule",
              "id": "j5",
              "offset": 1563431
            }
          ]
        },
        {
          "k": "op",
          "op": {
            "op": "many",
            "items": [
              {
                "name": "b",
                "delay": 59973
              },
              {
                "name": "a",
                "offset": 196156,
                "opts": {
                  "retry": {
                    "maxRetries": 2,
                    "backoff": {
                      "type": "exponential",
                      "delay": 50,
                      "factor": 2,
                      "maxDelay": 4000
                    }
                  }
                }
              }
            ]
          }
        },
        {
          "k": "step",
          "deltaMs": 3600000
        }
      ]
    }
  },
  {
    "name": "a cancel whose journal write failed (EIO that landed) was undone, bringing back a job due before the timer the scheduler had armed while it was cancelled: nothing re-armed, and the job waited for the next job's timer (here past the drain)",
    "gap": "settleAfterUndo",
    "todo": "new (simulation): an undone write wakes the scheduler",
    "invariant": "atLeastOnce",
    "scenario": {
      "seed": 245030916,
      "store": "json",
      "t0": 1823027411000,
      "zones": [
        "America/New_York",
        "UTC"
      ],
      "concurrency": 4,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 22,
      "fsync": true,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b",
          "concurrency": 2
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "b",
              "delay": 2337,
              "opts": {
                "id": "j0",
                "retry": {
                  "maxRetries": 0,
                  "backoff": {
                    "type": "exponential",
                    "delay": 50,
                    "factor": 3
                  }
                },
                "onDuplicate": "reject"
              }
            },
            {
              "op": "invalid",
              "what": "payload"
            },
            {
              "op": "cancel",
              "id": "j3"
            },
            {
              "op": "cancel",
              "id": "s0"
            },
            {
              "op": "cancel",
              "id": "j5"
            },
            {
              "op": "in",
              "name": "b",
              "delay": 3184771,
              "opts": {
                "id": "j7",
                "retry": {
                  "maxRetries": 0,
                  "backoff": {
                    "type": "fixed",
                    "delay": 0
                  }
                }
              }
            }
          ]
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "a",
            "delay": 555119,
            "opts": {
              "id": "j5",
              "timeout": 500,
              "onDuplicate": "replace"
            }
          }
        },
        {
          "k": "fault",
          "fault": "EIO-landed",
          "after": 3
        },
        {
          "k": "advance",
          "ms": 5034
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "cancel",
              "id": "j5"
            },
            {
              "op": "in",
              "name": "a",
              "delay": 43352,
              "opts": {
                "id": "j5",
                "retry": {
                  "maxRetries": 0,
                  "backoff": {
                    "type": "fixed",
                    "delay": 5000
                  }
                },
                "onDuplicate": "reject"
              }
            },
            {
              "op": "cancel",
              "id": "s2"
            }
          ]
        }
      ]
    }
  },
  {
    "name": "a rate-limited name held until the wall clock caught up after a backward clock step: its window kept the last start at its old instant, an hour in the future, so the next job of that name waited the hour (here past the drain)",
    "gap": "rebase",
    "todo": "new (simulation): rate-limit windows and push-backs move with clock steps",
    "invariant": "atLeastOnce",
    "scenario": {
      "seed": 13,
      "store": "json",
      "t0": 1772950413373,
      "zones": [
        "America/New_York",
        "America/New_York",
        "America/New_York"
      ],
      "concurrency": 2,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 14,
      "fsync": true,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "timeout": 20000,
          "rateLimit": {
            "max": 1,
            "durationMs": 200
          }
        },
        {
          "name": "b"
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "a",
            "interval": 3600000
          }
        },
        {
          "k": "advance",
          "ms": 3600618
        },
        {
          "k": "step",
          "deltaMs": -3600659
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "reschedule",
              "id": "j2",
              "offset": 180727
            },
            {
              "op": "in",
              "name": "a",
              "delay": 5373,
              "opts": {}
            },
            {
              "op": "in",
              "name": "b",
              "delay": 410
            },
            {
              "op": "at",
              "name": "a",
              "offset": 586247,
              "opts": {
                "id": "j2",
                "retry": {
                  "maxRetries": 0,
                  "backoff": {
                    "type": "fixed",
                    "delay": 100
                  }
                },
                "group": "g0"
              }
            }
          ]
        }
      ]
    }
  },
  {
    "name": "two every-7 s schedules on a name limited to one start per 5 s never ran again: each claim found the next slot due, planned a catch-up instead of running, and still counted as a start, so the catch-up, claimed after the window, was behind again",
    "gap": "misfireKept",
    "todo": "new (simulation): a claim that starts nothing gives its start back (Store.refundStart)",
    "invariant": "atLeastOnce",
    "scenario": {
      "seed": 229,
      "store": "memory",
      "t0": 1828403151000,
      "zones": [
        "America/New_York",
        "UTC"
      ],
      "concurrency": 4,
      "retry": {
        "maxRetries": 3,
        "backoff": {
          "type": "fixed",
          "delay": 1000
        }
      },
      "timeout": 30000,
      "keepCompleted": 1,
      "keepDead": 1000,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 1,
          "rateLimit": {
            "max": 1,
            "durationMs": 5000
          }
        },
        {
          "name": "b"
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "a",
            "interval": 7000,
            "opts": {
              "id": "s2",
              "retry": {
                "maxRetries": 0,
                "backoff": {
                  "type": "fixed",
                  "delay": 5000
                }
              },
              "timeout": 10000
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "a",
            "interval": 7000,
            "opts": {
              "timeout": 10000
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "many",
            "items": [
              {
                "name": "a",
                "offset": 486983,
                "opts": {
                  "id": "j3",
                  "retry": {
                    "maxRetries": 2,
                    "backoff": {
                      "type": "exponential",
                      "delay": 500,
                      "factor": 3,
                      "maxDelay": 4000
                    }
                  },
                  "timeout": 500,
                  "onDuplicate": "keep"
                }
              },
              {
                "name": "a",
                "offset": 148068,
                "opts": {
                  "id": "j8"
                }
              }
            ]
          }
        }
      ]
    }
  },
  {
    "name": "a grouped job cancelled by its own handler while the claim loop went round again (a job of another group had failed at once): the store freed the group's slot as it recorded the cancel, and the group's next job started before the cancelled attempt was aborted",
    "gap": "settleAfterUndo",
    "todo": "new (simulation): claims wait while a cancel or replace of a job running here is in flight",
    "invariant": "concurrency",
    "scenario": {
      "seed": 247032342,
      "store": "memory",
      "t0": 1807064068000,
      "zones": [
        "Asia/Kolkata",
        "UTC"
      ],
      "concurrency": 4,
      "retry": {
        "maxRetries": 2,
        "backoff": {
          "type": "fixed",
          "delay": 5000
        }
      },
      "keepCompleted": 1000,
      "keepDead": 1000,
      "fsync": true,
      "dirExists": true,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b"
        },
        {
          "name": "c",
          "concurrency": 3,
          "retry": {
            "maxRetries": 1,
            "backoff": {
              "type": "exponential",
              "delay": 2000,
              "factor": 2,
              "maxDelay": 4000
            }
          },
          "timeout": 1000
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "c",
            "interval": 60000
          }
        },
        {
          "k": "advance",
          "ms": 300094
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "cron",
              "name": "b",
              "expr": "*/20 * * * * *",
              "tz": "UTC",
              "misfire": "skip"
            },
            {
              "op": "get",
              "id": "s1"
            },
            {
              "op": "reschedule",
              "id": "j0",
              "offset": 1057134
            }
          ]
        },
        {
          "k": "unregister",
          "name": "a"
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "a",
            "delay": 665,
            "opts": {
              "id": "j1",
              "group": {
                "id": "g1",
                "concurrency": 2
              }
            }
          }
        },
        {
          "k": "advance",
          "ms": 618
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "b",
            "delay": 202,
            "opts": {
              "id": "j8",
              "timeout": 10000,
              "onDuplicate": "keep",
              "group": "g0"
            }
          }
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "c",
              "delay": 3522758,
              "opts": {
                "id": "j2",
                "onDuplicate": "reject"
              }
            },
            {
              "op": "in",
              "name": "a",
              "delay": 4,
              "opts": {
                "id": "j3",
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "exponential",
                    "delay": 2000,
                    "factor": 3
                  }
                },
                "group": "g0"
              }
            },
            {
              "op": "in",
              "name": "a",
              "delay": 1768896,
              "opts": {
                "id": "j7",
                "group": "g0"
              }
            }
          ]
        },
        {
          "k": "advance",
          "ms": 187
        },
        {
          "k": "advance",
          "ms": 189
        },
        {
          "k": "register",
          "name": "a"
        }
      ]
    }
  },
  {
    "name": "an every occurrence running at a kill, charged as lost after the restart while its charge waited on a failed write across a backward clock step: dead named the slot in the old frame, and the re-based slots after it looked to run before it",
    "gap": "settleRebase",
    "todo": "new (simulation): dead/failed report a lost every occurrence's slot as re-based",
    "invariant": "slotOnce",
    "scenario": {
      "seed": 247047301,
      "store": "json",
      "t0": 1826712072000,
      "zones": [
        "UTC",
        "UTC"
      ],
      "concurrency": 10,
      "retry": {
        "maxRetries": 0,
        "backoff": {
          "type": "exponential",
          "delay": 2000,
          "factor": 3
        }
      },
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 26,
      "fsync": true,
      "dirExists": false,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 2
        },
        {
          "name": "b"
        },
        {
          "name": "c",
          "timeout": 20000
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "retry",
              "id": "j4",
              "offset": 436321
            },
            {
              "op": "get",
              "id": "s0"
            },
            {
              "op": "every",
              "name": "a",
              "interval": 60000,
              "misfire": "all",
              "opts": {
                "timeout": 2000
              }
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "b",
                  "delay": 10764,
                  "opts": {
                    "id": "j7",
                    "retry": {
                      "maxRetries": 3,
                      "backoff": {
                        "type": "fixed",
                        "delay": 100
                      }
                    },
                    "timeout": 2000
                  }
                },
                {
                  "name": "c",
                  "delay": 6
                },
                {
                  "name": "a",
                  "delay": 28751,
                  "opts": {
                    "id": "j9",
                    "priority": -1,
                    "group": "g0"
                  }
                },
                {
                  "name": "c",
                  "offset": 453606,
                  "opts": {
                    "id": "j2"
                  }
                }
              ]
            }
          ]
        },
        {
          "k": "advance",
          "ms": 3600223
        },
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": "now",
          "downMs": 60000
        },
        {
          "k": "advance",
          "ms": 3600474
        },
        {
          "k": "step",
          "deltaMs": 60148
        },
        {
          "k": "advance",
          "ms": 1022
        },
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "a",
            "interval": 60000,
            "opts": {
              "retry": {
                "maxRetries": 3,
                "backoff": {
                  "type": "fixed",
                  "delay": 5000
                }
              },
              "timeout": 10000
            }
          }
        },
        {
          "k": "crash",
          "mode": "kill",
          "at": {
            "calls": 8,
            "side": "before"
          },
          "downMs": 0
        },
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "c",
            "interval": 300000,
            "misfire": "all"
          }
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "a",
              "delay": 932,
              "opts": {
                "id": "j7",
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "exponential",
                    "delay": 500,
                    "factor": 2,
                    "maxDelay": 4000
                  }
                },
                "onDuplicate": "reject"
              }
            },
            {
              "op": "in",
              "name": "a",
              "delay": 3567407,
              "opts": {
                "id": "j9",
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "fixed",
                    "delay": 5000
                  }
                },
                "onDuplicate": "replace"
              }
            },
            {
              "op": "cancel",
              "id": "j1"
            },
            {
              "op": "every",
              "name": "b",
              "interval": 7000,
              "opts": {
                "id": "s1",
                "retry": {
                  "maxRetries": 0,
                  "backoff": {
                    "type": "exponential",
                    "delay": 50,
                    "factor": 2,
                    "maxDelay": 4000
                  }
                },
                "timeout": 2000
              }
            },
            {
              "op": "in",
              "name": "c",
              "delay": 5202,
              "opts": {
                "id": "j8",
                "retry": {
                  "maxRetries": 0,
                  "backoff": {
                    "type": "exponential",
                    "delay": 500,
                    "factor": 3
                  }
                },
                "onDuplicate": "reject",
                "group": {
                  "id": "g1",
                  "concurrency": 2
                }
              }
            },
            {
              "op": "cron",
              "name": "b",
              "expr": "* * * * *",
              "tz": "UTC"
            }
          ]
        },
        {
          "k": "fault",
          "fault": "EIO-landed",
          "after": 7
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "b",
            "delay": 0,
            "opts": {
              "id": "j4"
            }
          }
        },
        {
          "k": "step",
          "deltaMs": -3600682
        }
      ]
    }
  },
  {
    "name": "harness: a reschedule refused (the job did not exist yet) and a later reschedule in flight with the insert of the id at a kill: the refusal restored the insert's due and forgot the later reschedule's bound, which had landed",
    "gap": "rebase",
    "todo": "harness (model): a refused call's undo keeps the bounds of other calls in flight",
    "invariant": "notEarly",
    "scenario": {
      "seed": 247052024,
      "store": "json",
      "t0": 1792884393745,
      "zones": [
        "Europe/London",
        "Europe/London",
        "America/New_York"
      ],
      "concurrency": 4,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 28,
      "fsync": true,
      "dirExists": true,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b",
          "concurrency": 3
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "b",
            "delay": 0,
            "opts": {
              "id": "j0",
              "timeout": 10000,
              "onDuplicate": "reject"
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "cron",
            "name": "b",
            "expr": "*/20 * * * * *",
            "tz": "Europe/London",
            "opts": {
              "retry": {
                "maxRetries": 1,
                "backoff": {
                  "type": "exponential",
                  "delay": 500,
                  "factor": 2
                }
              },
              "group": {
                "id": "g1",
                "concurrency": 2
              }
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "at",
            "name": "b",
            "offset": 3287724,
            "opts": {}
          }
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "at",
              "name": "c",
              "offset": 2755514,
              "opts": {
                "retry": {
                  "maxRetries": 0,
                  "backoff": {
                    "type": "exponential",
                    "delay": 500,
                    "factor": 2,
                    "maxDelay": 4000
                  }
                },
                "onDuplicate": "replace"
              }
            },
            {
              "op": "in",
              "name": "b",
              "delay": 1,
              "opts": {
                "retry": {
                  "maxRetries": 3,
                  "backoff": {
                    "type": "exponential",
                    "delay": 2000,
                    "factor": 2
                  }
                },
                "timeout": 10000
              }
            },
            {
              "op": "retry",
              "id": "j8",
              "offset": 145849
            },
            {
              "op": "in",
              "name": "c",
              "delay": 1000,
              "opts": {
                "id": "j9",
                "timeout": 10000
              }
            },
            {
              "op": "reschedule",
              "id": "s2",
              "offset": 1408088
            },
            {
              "op": "in",
              "name": "a",
              "delay": 3471538,
              "opts": {
                "id": "j8",
                "onDuplicate": "replace"
              }
            }
          ]
        },
        {
          "k": "advance",
          "ms": 30071
        },
        {
          "k": "crash",
          "mode": "kill",
          "at": {
            "calls": 19,
            "side": "before"
          },
          "downMs": 3600000
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "reschedule",
              "id": "j5",
              "offset": 461323
            },
            {
              "op": "at",
              "name": "b",
              "offset": 3451847,
              "opts": {
                "id": "j5",
                "timeout": 10000
              }
            },
            {
              "op": "reschedule",
              "id": "j5",
              "offset": 1664937
            },
            {
              "op": "retry",
              "id": "j6",
              "offset": 423405
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "c",
                  "offset": 241584,
                  "opts": {}
                }
              ]
            },
            {
              "op": "cron",
              "name": "a",
              "expr": "*/15 * * * *",
              "misfire": "once",
              "opts": {
                "id": "s2",
                "priority": 0,
                "onDuplicate": "reject"
              }
            }
          ]
        }
      ]
    }
  },
  {
    "name": "a push-back recorded after a forward clock step, while that step's re-base was being written, was moved by the re-base too: the name was held an hour instead of a second",
    "gap": "rebase",
    "todo": "LocalStore.shift moves the rate windows before its write, only by what they have not moved yet",
    "invariant": "atLeastOnce",
    "scenario": {
      "seed": 257100416,
      "store": "json",
      "t0": 1805324712000,
      "zones": [
        "America/New_York",
        "UTC"
      ],
      "concurrency": 10,
      "retry": {
        "maxRetries": 3,
        "backoff": {
          "type": "exponential",
          "delay": 50,
          "factor": 3,
          "maxDelay": 4000
        }
      },
      "keepCompleted": 1,
      "keepDead": 1000,
      "snapshotEvery": 28,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 1,
          "retry": {
            "maxRetries": 0,
            "backoff": {
              "type": "fixed",
              "delay": 100
            }
          }
        },
        {
          "name": "b",
          "rateLimit": {
            "max": 3,
            "durationMs": 200
          }
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "advance",
          "ms": 286
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "many",
              "items": [
                {
                  "name": "a",
                  "offset": 264351,
                  "opts": {
                    "id": "j2",
                    "timeout": 2000,
                    "onDuplicate": "reject"
                  }
                },
                {
                  "name": "b",
                  "delay": 807,
                  "opts": {
                    "id": "j9",
                    "onDuplicate": "reject"
                  }
                },
                {
                  "name": "c",
                  "delay": 32880,
                  "opts": {
                    "timeout": 2000,
                    "group": "g0"
                  }
                }
              ]
            },
            {
              "op": "get",
              "id": "j8"
            },
            {
              "op": "reschedule",
              "id": "j1",
              "offset": 720275
            },
            {
              "op": "cancel",
              "id": "s0"
            },
            {
              "op": "at",
              "name": "a",
              "offset": 434782,
              "opts": {
                "id": "j4"
              }
            }
          ]
        },
        {
          "k": "advance",
          "ms": 60863
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "b",
            "delay": 463,
            "opts": {
              "retry": {
                "maxRetries": 1,
                "backoff": {
                  "type": "exponential",
                  "delay": 500,
                  "factor": 2,
                  "maxDelay": 4000
                }
              },
              "onDuplicate": "keep"
            }
          }
        },
        {
          "k": "step",
          "deltaMs": 3600082
        }
      ]
    }
  },
  {
    "name": "harness: a debounce landed on a job whose attempt a restart had lost: the charge of that attempt, taken when the job came due, moved the new version's due by the backoff, which the model did not expect of a new version",
    "gap": "crashRule",
    "todo": "harness (model): a debounced version goes on with the job's run (attempts, lost-attempt charges)",
    "invariant": "durable",
    "scenario": {
      "seed": 259012146,
      "store": "json",
      "t0": 1826287234000,
      "zones": [
        "Asia/Kolkata",
        "UTC"
      ],
      "concurrency": 2,
      "retry": {
        "maxRetries": 3,
        "backoff": {
          "type": "exponential",
          "delay": 50,
          "factor": 2,
          "maxDelay": 4000
        }
      },
      "keepCompleted": 3,
      "keepDead": 1000,
      "snapshotEvery": 40,
      "fsync": true,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b",
          "concurrency": 1
        },
        {
          "name": "c",
          "concurrency": 2,
          "retry": {
            "maxRetries": 0,
            "backoff": {
              "type": "exponential",
              "delay": 50,
              "factor": 2,
              "maxDelay": 4000
            }
          }
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "a",
              "delay": 0,
              "opts": {
                "dedupe": {
                  "key": "k0",
                  "ttlMs": 5000,
                  "mode": "debounce"
                }
              }
            },
            {
              "op": "in",
              "name": "b",
              "delay": 7,
              "opts": {
                "onDuplicate": "replace"
              }
            },
            {
              "op": "retry",
              "id": "j5"
            },
            {
              "op": "every",
              "name": "c",
              "interval": 3600000,
              "misfire": "all",
              "opts": {
                "id": "s2",
                "retry": {
                  "maxRetries": 3,
                  "backoff": {
                    "type": "fixed",
                    "delay": 5000
                  }
                },
                "timeout": 2000,
                "priority": 1,
                "onDuplicate": "replace"
              }
            },
            {
              "op": "in",
              "name": "c",
              "delay": 0,
              "opts": {
                "id": "j1",
                "retry": {
                  "maxRetries": 0,
                  "backoff": {
                    "type": "exponential",
                    "delay": 500,
                    "factor": 2,
                    "maxDelay": 4000
                  }
                },
                "timeout": 500
              }
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "b",
                  "delay": 119140,
                  "opts": {}
                },
                {
                  "name": "c",
                  "delay": 9375,
                  "opts": {
                    "dedupe": {
                      "key": "k0",
                      "ttlMs": 100,
                      "mode": "throttle"
                    }
                  }
                }
              ]
            }
          ]
        },
        {
          "k": "step",
          "deltaMs": -3600198
        },
        {
          "k": "fault",
          "fault": "short",
          "after": 1
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "cron",
              "name": "b",
              "expr": "*/15 * * * *",
              "tz": "Asia/Kolkata",
              "misfire": "all",
              "opts": {
                "group": "g0"
              }
            },
            {
              "op": "retry",
              "id": "j3"
            }
          ]
        },
        {
          "k": "restart"
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "retry",
              "id": "j2"
            },
            {
              "op": "in",
              "name": "a",
              "delay": 0,
              "opts": {
                "dedupe": {
                  "key": "k0",
                  "ttlMs": 5000,
                  "mode": "debounce"
                }
              }
            }
          ]
        }
      ]
    }
  },
  {
    "name": "dedupe: the start of a job whose 100 ms window had ended took its key back from the newer one-hour window of that key (every put of a record with a window pointed the key at it), and a throttle call inside the newer window created a second job",
    "gap": "crashRule",
    "todo": "DedupeWindows.track keeps the key on the newer job (higher seq)",
    "invariant": "dedupe",
    "scenario": {
      "seed": 261007850,
      "store": "memory",
      "t0": 1774735790130,
      "zones": [
        "Europe/London",
        "Europe/London",
        "Asia/Kolkata"
      ],
      "concurrency": 1,
      "retry": {
        "maxRetries": 1,
        "backoff": {
          "type": "fixed",
          "delay": 5000
        }
      },
      "keepCompleted": 1000,
      "keepDead": 1000,
      "fsync": true,
      "dirExists": true,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "rateLimit": {
            "max": 1,
            "durationMs": 200
          }
        },
        {
          "name": "b",
          "concurrency": 3
        },
        {
          "name": "c",
          "retry": {
            "maxRetries": 0,
            "backoff": {
              "type": "exponential",
              "delay": 50,
              "factor": 3,
              "maxDelay": 4000
            }
          },
          "rateLimit": {
            "max": 3,
            "durationMs": 200
          }
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "cancel",
              "id": "j3"
            },
            {
              "op": "every",
              "name": "a",
              "interval": 300000,
              "misfire": "once",
              "opts": {
                "id": "s0",
                "timeout": 500,
                "onDuplicate": "reject",
                "group": {
                  "id": "g1",
                  "concurrency": 2
                }
              }
            },
            {
              "op": "in",
              "name": "c",
              "delay": 0,
              "opts": {
                "id": "j7",
                "timeout": 500,
                "priority": 2,
                "group": "g0"
              }
            },
            {
              "op": "reschedule",
              "id": "j4",
              "offset": 975989
            },
            {
              "op": "cron",
              "name": "c",
              "expr": "* * * * *",
              "tz": "Europe/London",
              "opts": {
                "id": "s2",
                "priority": 0,
                "onDuplicate": "reject"
              }
            }
          ]
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "retry",
              "id": "j1"
            },
            {
              "op": "cancel",
              "id": "j5"
            },
            {
              "op": "in",
              "name": "c",
              "delay": 23469
            },
            {
              "op": "in",
              "name": "c",
              "delay": 2,
              "opts": {
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "fixed",
                    "delay": 1000
                  }
                },
                "timeout": 2000,
                "priority": 1,
                "group": "g0",
                "dedupe": {
                  "key": "k1",
                  "ttlMs": 60000,
                  "mode": "debounce"
                }
              }
            },
            {
              "op": "in",
              "name": "a",
              "delay": 25603,
              "opts": {
                "group": "g0"
              }
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "a",
                  "offset": 16069,
                  "opts": {
                    "id": "j5",
                    "priority": -1,
                    "onDuplicate": "keep"
                  }
                },
                {
                  "name": "c",
                  "delay": 677,
                  "opts": {
                    "group": {
                      "id": "g1",
                      "concurrency": 2
                    }
                  }
                }
              ]
            }
          ]
        },
        {
          "k": "advance",
          "ms": 3600787
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "at",
              "name": "c",
              "offset": 1033995,
              "opts": {
                "dedupe": {
                  "key": "k0",
                  "ttlMs": 100,
                  "mode": "throttle"
                }
              }
            },
            {
              "op": "in",
              "name": "a",
              "delay": 6,
              "opts": {
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "fixed",
                    "delay": 1000
                  }
                },
                "timeout": 2000,
                "priority": 1,
                "group": "g0",
                "dedupe": {
                  "key": "k1",
                  "ttlMs": 100,
                  "mode": "throttle"
                }
              }
            },
            {
              "op": "cron",
              "name": "a",
              "expr": "30 2 * * *",
              "tz": "Europe/London",
              "misfire": "skip",
              "opts": {
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "fixed",
                    "delay": 1000
                  }
                },
                "onDuplicate": "keep"
              }
            }
          ]
        },
        {
          "k": "advance",
          "ms": 5107
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "at",
              "name": "a",
              "offset": 1079296,
              "opts": {
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "exponential",
                    "delay": 2000,
                    "factor": 2,
                    "maxDelay": 4000
                  }
                }
              }
            },
            {
              "op": "at",
              "name": "a",
              "offset": 3287554,
              "opts": {
                "id": "j2",
                "priority": 2,
                "group": {
                  "id": "g1",
                  "concurrency": 2
                }
              }
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "a",
                  "delay": 5,
                  "opts": {
                    "dedupe": {
                      "key": "k0",
                      "ttlMs": 100,
                      "mode": "throttle"
                    }
                  }
                },
                {
                  "name": "a",
                  "offset": 353319,
                  "opts": {
                    "retry": {
                      "maxRetries": 2,
                      "backoff": {
                        "type": "fixed",
                        "delay": 1000
                      }
                    },
                    "timeout": 2000,
                    "priority": 1,
                    "group": "g0",
                    "dedupe": {
                      "key": "k1",
                      "ttlMs": 3600000,
                      "mode": "throttle"
                    }
                  }
                },
                {
                  "name": "b",
                  "offset": 91024,
                  "opts": {
                    "id": "j6",
                    "timeout": 500,
                    "onDuplicate": "keep"
                  }
                }
              ]
            },
            {
              "op": "cancel",
              "id": "s2"
            },
            {
              "op": "in",
              "name": "a",
              "delay": 742,
              "opts": {
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "fixed",
                    "delay": 100
                  }
                },
                "group": "g0"
              }
            },
            {
              "op": "cancel",
              "id": "j7"
            }
          ]
        },
        {
          "k": "op",
          "op": {
            "op": "at",
            "name": "a",
            "offset": 1354783,
            "opts": {
              "retry": {
                "maxRetries": 2,
                "backoff": {
                  "type": "fixed",
                  "delay": 1000
                }
              },
              "timeout": 2000,
              "priority": 1,
              "group": "g0",
              "dedupe": {
                "key": "k1",
                "ttlMs": 3600000
              }
            }
          }
        }
      ]
    }
  },
  {
    "name": "harness: a job claimed (written running) just before a kill, its start never seen, came back with a crash charge; a debounce after the restart took the job over, and the charge, taken when it came due, moved its due by the backoff, which the model expected only of attempts it had seen lost",
    "gap": "crashRule",
    "todo": "harness (model): a debounced version of a job that lived through a crash may carry a charge of an unseen claim (VState.chargeUnseen)",
    "invariant": "durable",
    "scenario": {
      "seed": 268017974,
      "store": "json",
      "t0": 1772942800855,
      "zones": [
        "America/New_York",
        "America/New_York",
        "UTC"
      ],
      "concurrency": 1,
      "timeout": 30000,
      "keepCompleted": 1,
      "keepDead": 1000,
      "fsync": true,
      "dirExists": false,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 3,
          "timeout": 3000,
          "rateLimit": {
            "max": 1,
            "durationMs": 5000
          }
        },
        {
          "name": "b"
        },
        {
          "name": "c",
          "retry": {
            "maxRetries": 1,
            "backoff": {
              "type": "exponential",
              "delay": 2000,
              "factor": 2,
              "maxDelay": 4000
            }
          }
        }
      ],
      "steps": [
        {
          "k": "advance",
          "ms": 300213
        },
        {
          "k": "advance",
          "ms": 5984
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "a",
              "delay": 38239,
              "opts": {
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "fixed",
                    "delay": 1000
                  }
                },
                "timeout": 2000,
                "priority": 1,
                "group": "g0",
                "dedupe": {
                  "key": "k1",
                  "ttlMs": 3600000,
                  "mode": "throttle"
                }
              }
            },
            {
              "op": "cancel",
              "id": "@window"
            },
            {
              "op": "cron",
              "name": "a",
              "expr": "0 0 * * *",
              "opts": {
                "onDuplicate": "reject",
                "group": "g0"
              }
            },
            {
              "op": "cron",
              "name": "b",
              "expr": "30 * * * *",
              "tz": "UTC",
              "misfire": "all",
              "opts": {
                "priority": 1
              }
            },
            {
              "op": "reschedule",
              "id": "s1",
              "offset": 1183824
            },
            {
              "op": "cancel",
              "id": "j7"
            }
          ]
        },
        {
          "k": "advance",
          "ms": 30514
        },
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "a",
            "interval": 300000,
            "misfire": "once",
            "limit": 2,
            "opts": {
              "id": "s2",
              "retry": {
                "maxRetries": 1,
                "backoff": {
                  "type": "exponential",
                  "delay": 50,
                  "factor": 2,
                  "maxDelay": 4000
                }
              },
              "priority": 2,
              "onDuplicate": "replace"
            }
          }
        },
        {
          "k": "step",
          "deltaMs": -2284
        },
        {
          "k": "crash",
          "mode": "kill",
          "at": {
            "calls": 4,
            "side": "after"
          },
          "downMs": 3600000
        },
        {
          "k": "advance",
          "ms": 300423
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "a",
              "delay": 230,
              "opts": {
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "fixed",
                    "delay": 1000
                  }
                },
                "timeout": 2000,
                "priority": 1,
                "group": "g0",
                "dedupe": {
                  "key": "k1",
                  "ttlMs": 5000,
                  "mode": "debounce"
                }
              }
            },
            {
              "op": "cancel",
              "id": "j8"
            },
            {
              "op": "every",
              "name": "b",
              "interval": 300000,
              "misfire": "once"
            }
          ]
        },
        {
          "k": "fault",
          "fault": "short",
          "after": 5
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "c",
              "delay": 48628
            },
            {
              "op": "retry",
              "id": "j8",
              "offset": 432902
            },
            {
              "op": "cancel",
              "id": "j0"
            },
            {
              "op": "in",
              "name": "b",
              "delay": 2969034,
              "opts": {
                "id": "j4",
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "fixed",
                    "delay": 0
                  }
                },
                "timeout": 500
              }
            },
            {
              "op": "at",
              "name": "c",
              "offset": 1198915
            },
            {
              "op": "many",
              "items": [
                {
                  "name": "a",
                  "delay": 1032359,
                  "opts": {
                    "priority": 2
                  }
                },
                {
                  "name": "a",
                  "offset": 465491,
                  "opts": {
                    "id": "j1"
                  }
                },
                {
                  "name": "a",
                  "offset": 24951,
                  "opts": {
                    "timeout": 2000
                  }
                }
              ]
            }
          ]
        },
        {
          "k": "advance",
          "ms": 60163
        }
      ]
    }
  },
  {
    "name": "harness: a priority-1 every 7 s schedule with misfire 'all', its handler limited to one start per 5 s, catching up an hour of slots, held its group's lower-priority jobs of other names behind it for the drain's length (the group keeps its order), which the drain's check took for a stall",
    "gap": "crashRule",
    "todo": "harness (final drain): a job behind a due job of its group that a saturated limit holds is drained, by design",
    "invariant": "atLeastOnce",
    "scenario": {
      "seed": 290039151,
      "store": "json",
      "t0": 1775296971507,
      "zones": [
        "Pacific/Chatham",
        "Pacific/Chatham",
        "UTC"
      ],
      "concurrency": 10,
      "retry": {
        "maxRetries": 1,
        "backoff": {
          "type": "exponential",
          "delay": 500,
          "factor": 3
        }
      },
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 21,
      "fsync": true,
      "dirExists": true,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 2,
          "timeout": 1000
        },
        {
          "name": "b",
          "rateLimit": {
            "max": 1,
            "durationMs": 5000
          }
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "b",
            "interval": 7000,
            "misfire": "all",
            "opts": {
              "retry": {
                "maxRetries": 1,
                "backoff": {
                  "type": "exponential",
                  "delay": 500,
                  "factor": 2
                }
              },
              "priority": 1,
              "onDuplicate": "keep",
              "group": "g0"
            }
          }
        },
        {
          "k": "unregister",
          "name": "b"
        },
        {
          "k": "op",
          "op": {
            "op": "many",
            "items": [
              {
                "name": "a",
                "delay": 3,
                "opts": {
                  "retry": {
                    "maxRetries": 2,
                    "backoff": {
                      "type": "fixed",
                      "delay": 1000
                    }
                  },
                  "timeout": 2000,
                  "priority": 1,
                  "group": "g0",
                  "dedupe": {
                    "key": "k1",
                    "ttlMs": 60000,
                    "mode": "throttle"
                  }
                }
              },
              {
                "name": "a",
                "delay": 45953,
                "opts": {
                  "id": "j3",
                  "retry": {
                    "maxRetries": 0,
                    "backoff": {
                      "type": "fixed",
                      "delay": 1000
                    }
                  },
                  "timeout": 500,
                  "onDuplicate": "keep"
                }
              },
              {
                "name": "a",
                "delay": 789969,
                "opts": {
                  "id": "j2",
                  "retry": {
                    "maxRetries": 3,
                    "backoff": {
                      "type": "fixed",
                      "delay": 100
                    }
                  },
                  "timeout": 2000,
                  "group": "g0"
                }
              },
              {
                "name": "c",
                "offset": 224370,
                "opts": {
                  "id": "j6",
                  "group": "g0"
                }
              }
            ]
          }
        },
        {
          "k": "advance",
          "ms": 3600891
        }
      ]
    }
  },
  {
    "name": "harness: an every 7 s schedule with misfire 'all' under one start per 5 s, catching up an hour of slots, held its group's next occurrence of another schedule (equal priority, the catch-up's older slots first) for the drain's length, which the drain's check took for a stall",
    "gap": "crashRule",
    "todo": "harness (final drain): a job behind a due job of its group that a saturated limit holds is drained, by design",
    "invariant": "atLeastOnce",
    "scenario": {
      "seed": 290040876,
      "store": "json",
      "t0": 1772932355784,
      "zones": [
        "America/New_York",
        "America/New_York",
        "Asia/Kolkata"
      ],
      "concurrency": 10,
      "keepCompleted": 3,
      "keepDead": 1000,
      "snapshotEvery": 33,
      "fsync": false,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 2,
          "rateLimit": {
            "max": 1,
            "durationMs": 5000
          }
        },
        {
          "name": "b",
          "retry": {
            "maxRetries": 2,
            "backoff": {
              "type": "exponential",
              "delay": 500,
              "factor": 2
            }
          },
          "timeout": 20000
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "cancel",
              "id": "j0"
            },
            {
              "op": "cancel",
              "id": "j9"
            },
            {
              "op": "reschedule",
              "id": "@window",
              "offset": 84367
            },
            {
              "op": "cancel",
              "id": "j4"
            },
            {
              "op": "every",
              "name": "a",
              "interval": 7000,
              "misfire": "all",
              "opts": {
                "id": "s1",
                "onDuplicate": "keep",
                "group": "g0"
              }
            },
            {
              "op": "cancel",
              "id": "j8"
            }
          ]
        },
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "b",
            "interval": 7000,
            "opts": {
              "timeout": 500,
              "group": "g0"
            }
          }
        },
        {
          "k": "advance",
          "ms": 3600778
        }
      ]
    }
  },
  {
    "name": "harness: a job's lost attempt, charged at claim after a debounce moved the job to a wall time, retried in elapsed time; a backward clock step of an hour then carried the retry before that wall time, which the model took for a lost change",
    "gap": "crashRule",
    "todo": "harness (model): a charged retry moves with clock steps (Due.charge); seed 297158202",
    "invariant": "durable",
    "scenario": {
      "seed": 297158202,
      "store": "json",
      "t0": 1772941726475,
      "zones": [
        "America/New_York",
        "America/New_York",
        "UTC"
      ],
      "concurrency": 10,
      "retry": {
        "maxRetries": 1,
        "backoff": {
          "type": "exponential",
          "delay": 500,
          "factor": 2,
          "maxDelay": 4000
        }
      },
      "keepCompleted": 1000,
      "keepDead": 1,
      "snapshotEvery": 11,
      "fsync": true,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 3,
          "retry": {
            "maxRetries": 3,
            "backoff": {
              "type": "exponential",
              "delay": 2000,
              "factor": 2
            }
          }
        },
        {
          "name": "b",
          "concurrency": 2
        },
        {
          "name": "c"
        }
      ],
      "steps": [
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": {
            "calls": 34,
            "side": "before"
          },
          "downMs": 60000
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "a",
            "delay": 0,
            "opts": {
              "dedupe": {
                "key": "k0",
                "ttlMs": 3600000,
                "mode": "throttle"
              }
            }
          }
        },
        {
          "k": "step",
          "deltaMs": -3600859
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "cron",
              "name": "a",
              "expr": "*/5 * * * *",
              "tz": "UTC",
              "misfire": "once",
              "limit": 5,
              "opts": {}
            },
            {
              "op": "cron",
              "name": "b",
              "expr": "0 0 * * *",
              "tz": "America/New_York",
              "opts": {
                "id": "s2"
              }
            },
            {
              "op": "cron",
              "name": "c",
              "expr": "30 2 * * *",
              "tz": "UTC",
              "opts": {
                "id": "s1"
              }
            }
          ]
        },
        {
          "k": "advance",
          "ms": 300553
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 0
          }
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "b",
              "delay": 51929,
              "opts": {
                "id": "j9",
                "timeout": 500
              }
            },
            {
              "op": "cancel",
              "id": "j1"
            },
            {
              "op": "at",
              "name": "a",
              "offset": -42251,
              "opts": {
                "dedupe": {
                  "key": "k0",
                  "ttlMs": 3600000,
                  "mode": "debounce"
                }
              }
            },
            {
              "op": "in",
              "name": "a",
              "delay": 3528,
              "opts": {
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "fixed",
                    "delay": 1000
                  }
                },
                "timeout": 2000,
                "priority": 1,
                "group": "g0",
                "dedupe": {
                  "key": "k1",
                  "ttlMs": 3600000
                }
              }
            }
          ]
        },
        {
          "k": "step",
          "deltaMs": -3600603
        }
      ]
    }
  },
  {
    "name": "harness: an every schedule declared, then a backward clock step of exactly its interval, and the process died during the step's re-base: the store had re-based the first slot, and the model's check took the old grid (which holds that slot at k = -1) before the re-based one (k = 0)",
    "gap": "rebase",
    "todo": "harness (model): a slot counts as on the grid when any grid the schedule may be on holds it at k >= 0; seed 297936580 of npm run sim -- --minutes 15 --jobs 1 --from 297900000",
    "invariant": "slotOnce",
    "scenario": {
      "seed": 297936580,
      "store": "json",
      "t0": 1790424557892,
      "zones": [
        "Pacific/Chatham",
        "Pacific/Chatham",
        "America/New_York"
      ],
      "concurrency": 2,
      "retry": {
        "maxRetries": 2,
        "backoff": {
          "type": "exponential",
          "delay": 2000,
          "factor": 3
        }
      },
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 32,
      "fsync": true,
      "dirExists": false,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 2,
          "retry": {
            "maxRetries": 2,
            "backoff": {
              "type": "exponential",
              "delay": 50,
              "factor": 2
            }
          }
        },
        {
          "name": "b",
          "concurrency": 2
        },
        {
          "name": "c",
          "retry": {
            "maxRetries": 3,
            "backoff": {
              "type": "exponential",
              "delay": 500,
              "factor": 2,
              "maxDelay": 4000
            }
          }
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 525135,
            "opts": {
              "id": "j8",
              "retry": {
                "maxRetries": 1,
                "backoff": {
                  "type": "fixed",
                  "delay": 1000
                }
              },
              "onDuplicate": "reject",
              "group": "g0"
            }
          }
        },
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": {
            "calls": 12,
            "side": "after"
          },
          "downMs": 0
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 3296,
            "opts": {
              "id": "j4",
              "retry": {
                "maxRetries": 3,
                "backoff": {
                  "type": "exponential",
                  "delay": 2000,
                  "factor": 3,
                  "maxDelay": 4000
                }
              },
              "timeout": 2000,
              "priority": -2,
              "group": "g0"
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "cron",
            "name": "b",
            "expr": "* * * * *",
            "tz": "Pacific/Chatham",
            "misfire": "skip",
            "limit": 4
          }
        },
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "b",
            "interval": 60000,
            "opts": {
              "retry": {
                "maxRetries": 1,
                "backoff": {
                  "type": "exponential",
                  "delay": 50,
                  "factor": 2
                }
              }
            }
          }
        },
        {
          "k": "step",
          "deltaMs": -60000
        }
      ]
    }
  },
  {
    "name": "harness: retry(+511 s), reschedule(-29 s) and retry() of a cancelled job in one burst: the store applied them in call order (the job revived, moved back, the second retry() refused) and ran the job at once; the model let the refused retry()'s bound hold back the reschedule's ack, so the start looked 8 minutes early",
    "gap": "rebase",
    "todo": "harness (model): a refused call's bound is undone with it; seed 298253854 of npm run sim -- --minutes 25 --jobs 1 --from 298200000",
    "invariant": "notEarly",
    "scenario": {
      "seed": 298253854,
      "store": "json",
      "t0": 1790420482525,
      "zones": [
        "Pacific/Chatham",
        "Pacific/Chatham",
        "Asia/Kolkata"
      ],
      "concurrency": 1,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 23,
      "fsync": true,
      "dirExists": true,
      "latency": [
        6,
        3,
        1,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 3
        },
        {
          "name": "b"
        },
        {
          "name": "c",
          "concurrency": 1,
          "retry": {
            "maxRetries": 3,
            "backoff": {
              "type": "exponential",
              "delay": 2000,
              "factor": 3
            }
          }
        }
      ],
      "steps": [
        {
          "k": "op",
          "op": {
            "op": "at",
            "name": "b",
            "offset": 3494695,
            "opts": {
              "id": "j4"
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "cancel",
            "id": "j4"
          }
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "many",
              "items": [
                {
                  "name": "a",
                  "delay": 30687,
                  "opts": {
                    "dedupe": {
                      "key": "k0",
                      "ttlMs": 60000,
                      "mode": "debounce"
                    }
                  }
                },
                {
                  "name": "a",
                  "delay": 0,
                  "opts": {
                    "retry": {
                      "maxRetries": 2,
                      "backoff": {
                        "type": "fixed",
                        "delay": 1000
                      }
                    },
                    "timeout": 2000,
                    "priority": 1,
                    "group": "g0",
                    "dedupe": {
                      "key": "k1",
                      "ttlMs": 60000,
                      "mode": "debounce"
                    }
                  }
                }
              ]
            },
            {
              "op": "retry",
              "id": "j4",
              "offset": 511311
            },
            {
              "op": "reschedule",
              "id": "j4",
              "offset": -29460
            },
            {
              "op": "retry",
              "id": "j4"
            },
            {
              "op": "cron",
              "name": "c",
              "expr": "30 * * * *",
              "misfire": "skip",
              "opts": {
                "id": "s1",
                "retry": {
                  "maxRetries": 0,
                  "backoff": {
                    "type": "exponential",
                    "delay": 2000,
                    "factor": 2
                  }
                },
                "onDuplicate": "keep"
              }
            },
            {
              "op": "cancel",
              "id": "j2"
            }
          ]
        }
      ]
    }
  },
  {
    "name": "harness: a grouped job claimed (written running) at the instant of a power cut, its start never seen, came back with a crash charge; a reschedule after the restart moved it, and when it came due (after a +1 h clock step) the charge was taken first and its retry waited the backoff, which the model expected only of attempts it had seen lost or of a debounce",
    "gap": "crashRule",
    "todo": "harness (model): a rescheduled job that lived through a crash may carry a charge of an unseen claim (VState.chargeUnseen); seed 298656286 of npm run sim -- --minutes 30 --jobs 1 --from 298600000",
    "invariant": "durable",
    "scenario": {
      "seed": 298656286,
      "store": "json",
      "t0": 1775310994157,
      "zones": [
        "Pacific/Chatham",
        "Pacific/Chatham",
        "America/New_York"
      ],
      "concurrency": 2,
      "retry": {
        "maxRetries": 3,
        "backoff": {
          "type": "exponential",
          "delay": 2000,
          "factor": 3
        }
      },
      "keepCompleted": 1000,
      "keepDead": 1000,
      "fsync": true,
      "dirExists": false,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 1,
          "rateLimit": {
            "max": 2,
            "durationMs": 200
          }
        },
        {
          "name": "b"
        },
        {
          "name": "c",
          "concurrency": 3,
          "retry": {
            "maxRetries": 2,
            "backoff": {
              "type": "exponential",
              "delay": 50,
              "factor": 3,
              "maxDelay": 4000
            }
          },
          "rateLimit": {
            "max": 2,
            "durationMs": 1000
          }
        }
      ],
      "steps": [
        {
          "k": "advance",
          "ms": 60662
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 657,
            "opts": {
              "id": "j3"
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 3413,
            "opts": {
              "id": "j2",
              "retry": {
                "maxRetries": 1,
                "backoff": {
                  "type": "fixed",
                  "delay": 100
                }
              },
              "onDuplicate": "keep"
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "a",
            "delay": 425373,
            "opts": {
              "dedupe": {
                "key": "k0",
                "ttlMs": 3600000,
                "mode": "throttle"
              }
            }
          }
        },
        {
          "k": "advance",
          "ms": 527
        },
        {
          "k": "advance",
          "ms": 632
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "b",
            "delay": 23677,
            "opts": {
              "id": "j6",
              "timeout": 2000,
              "priority": 0,
              "group": "g0"
            }
          }
        },
        {
          "k": "op",
          "op": {
            "op": "many",
            "items": [
              {
                "name": "a",
                "delay": 36390,
                "opts": {
                  "retry": {
                    "maxRetries": 2,
                    "backoff": {
                      "type": "fixed",
                      "delay": 1000
                    }
                  },
                  "timeout": 2000,
                  "priority": 1,
                  "group": "g0",
                  "dedupe": {
                    "key": "k1",
                    "ttlMs": 100
                  }
                }
              }
            ]
          }
        },
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": {
            "calls": 15,
            "side": "before"
          },
          "downMs": 0
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 82507,
            "opts": {
              "retry": {
                "maxRetries": 2,
                "backoff": {
                  "type": "fixed",
                  "delay": 1000
                }
              },
              "onDuplicate": "reject"
            }
          }
        },
        {
          "k": "advance",
          "ms": 300269
        },
        {
          "k": "op",
          "op": {
            "op": "reschedule",
            "id": "j6",
            "offset": 410133
          }
        },
        {
          "k": "step",
          "deltaMs": 3600118
        }
      ]
    }
  },
  {
    "name": "a claim whose journal write failed (EIO) was undone; the jobs it had readied stayed in the ready queues, and a cancel before the claim's one-second retry re-armed the timer for the next due job in the heap (a cron slot 13 minutes away): the readied jobs, due already, never ran in the final drain",
    "gap": "claimRetry",
    "todo": "new (simulation): a claim the store refused is retried a second later, whatever re-arms the timer meanwhile; seed 299129367 of npm run sim -- --minutes 30 --jobs 1 --from 299100000",
    "invariant": "atLeastOnce",
    "scenario": {
      "seed": 299129367,
      "store": "json",
      "t0": 1774741642580,
      "zones": [
        "Europe/London",
        "Europe/London",
        "America/New_York"
      ],
      "concurrency": 1,
      "retry": {
        "maxRetries": 1,
        "backoff": {
          "type": "exponential",
          "delay": 50,
          "factor": 2,
          "maxDelay": 4000
        }
      },
      "keepCompleted": 1,
      "keepDead": 1000,
      "snapshotEvery": 39,
      "fsync": true,
      "dirExists": true,
      "latency": [
        1,
        0,
        0,
        0
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 1,
          "rateLimit": {
            "max": 1,
            "durationMs": 5000
          }
        },
        {
          "name": "b",
          "retry": {
            "maxRetries": 2,
            "backoff": {
              "type": "exponential",
              "delay": 2000,
              "factor": 3
            }
          }
        },
        {
          "name": "c",
          "retry": {
            "maxRetries": 2,
            "backoff": {
              "type": "exponential",
              "delay": 2000,
              "factor": 3
            }
          }
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "reschedule",
              "id": "j5",
              "offset": 297147
            },
            {
              "op": "cron",
              "name": "b",
              "expr": "15 1 * * *",
              "tz": "Europe/London",
              "misfire": "all",
              "limit": 3
            },
            {
              "op": "every",
              "name": "b",
              "interval": 3600000,
              "misfire": "once",
              "opts": {
                "id": "s2"
              }
            },
            {
              "op": "in",
              "name": "c",
              "delay": 8,
              "opts": {
                "priority": -1,
                "onDuplicate": "replace",
                "group": {
                  "id": "g1",
                  "concurrency": 2
                }
              }
            },
            {
              "op": "in",
              "name": "a",
              "delay": 3121,
              "opts": {
                "id": "j6",
                "timeout": 2000,
                "priority": 0,
                "onDuplicate": "reject"
              }
            },
            {
              "op": "reschedule",
              "id": "s2",
              "offset": -3481
            }
          ]
        },
        {
          "k": "step",
          "deltaMs": -60453
        },
        {
          "k": "fault",
          "fault": "EIO",
          "after": 10
        },
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "a",
            "interval": 7000,
            "opts": {
              "id": "s1",
              "priority": -1
            }
          }
        },
        {
          "k": "advance",
          "ms": 30314
        },
        {
          "k": "step",
          "deltaMs": 3600367
        },
        {
          "k": "op",
          "op": {
            "op": "cancel",
            "id": "j6"
          }
        }
      ]
    }
  },
  {
    "name": "harness: an every-5 min schedule's slot died after 3 starts; a -1 h step moved it, then a +1 h step (12 intervals) whose re-base a power cut may have lost: the store, its re-base lost, caught up the slot with that label on its old grid, which never ran, and the model, counting starts by label on the moved grid, called it the slot's 4th start (a harness gap, fixed in test/sim/model.ts)",
    "gap": "rebase",
    "todo": "issue 13.5 / SPEC §4: clock steps re-base elapsed-time due times; seed 299215235 of npm run sim -- --minutes 40 --jobs 1 --from 299200000",
    "invariant": "attempts",
    "scenario": {
      "seed": 299215235,
      "store": "json",
      "t0": 1808999182000,
      "zones": [
        "America/New_York",
        "UTC"
      ],
      "concurrency": 10,
      "timeout": 2000,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "snapshotEvery": 26,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a"
        },
        {
          "name": "b"
        },
        {
          "name": "c",
          "retry": {
            "maxRetries": 1,
            "backoff": {
              "type": "exponential",
              "delay": 50,
              "factor": 2
            }
          },
          "rateLimit": {
            "max": 2,
            "durationMs": 200
          }
        }
      ],
      "steps": [
        {
          "k": "burst",
          "ops": [
            {
              "op": "every",
              "name": "c",
              "interval": 300000,
              "opts": {
                "id": "s2",
                "retry": {
                  "maxRetries": 2,
                  "backoff": {
                    "type": "fixed",
                    "delay": 100
                  }
                }
              }
            },
            {
              "op": "in",
              "name": "c",
              "delay": 779891
            },
            {
              "op": "cron",
              "name": "a",
              "expr": "0 3 * * *",
              "tz": "UTC",
              "misfire": "skip",
              "opts": {
                "retry": {
                  "maxRetries": 1,
                  "backoff": {
                    "type": "exponential",
                    "delay": 2000,
                    "factor": 2
                  }
                },
                "onDuplicate": "replace"
              }
            }
          ]
        },
        {
          "k": "advance",
          "ms": 30829
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "cancel",
              "id": "j3"
            },
            {
              "op": "cron",
              "name": "a",
              "expr": "0 * * * *",
              "tz": "UTC",
              "misfire": "skip",
              "limit": 3,
              "opts": {
                "timeout": 2000,
                "priority": 0,
                "onDuplicate": "reject"
              }
            },
            {
              "op": "in",
              "name": "a",
              "delay": 2840324,
              "opts": {
                "id": "j9",
                "retry": {
                  "maxRetries": 3,
                  "backoff": {
                    "type": "exponential",
                    "delay": 500,
                    "factor": 3,
                    "maxDelay": 4000
                  }
                },
                "onDuplicate": "keep"
              }
            },
            {
              "op": "cron",
              "name": "c",
              "expr": "15 1 * * *",
              "tz": "America/New_York",
              "misfire": "once"
            },
            {
              "op": "in",
              "name": "a",
              "delay": 3,
              "opts": {
                "id": "j6",
                "retry": {
                  "maxRetries": 3,
                  "backoff": {
                    "type": "exponential",
                    "delay": 500,
                    "factor": 3,
                    "maxDelay": 4000
                  }
                }
              }
            }
          ]
        },
        {
          "k": "advance",
          "ms": 30103
        },
        {
          "k": "crash",
          "mode": "kill",
          "at": "now",
          "downMs": 1000
        },
        {
          "k": "advance",
          "ms": 815
        },
        {
          "k": "advance",
          "ms": 1023
        },
        {
          "k": "advance",
          "ms": 300868
        },
        {
          "k": "burst",
          "ops": [
            {
              "op": "in",
              "name": "c",
              "delay": 56495,
              "opts": {
                "id": "j3"
              }
            },
            {
              "op": "at",
              "name": "c",
              "offset": 451485,
              "opts": {
                "id": "j1",
                "retry": {
                  "maxRetries": 3,
                  "backoff": {
                    "type": "exponential",
                    "delay": 50,
                    "factor": 3,
                    "maxDelay": 4000
                  }
                },
                "timeout": 2000
              }
            }
          ]
        },
        {
          "k": "advance",
          "ms": 677
        },
        {
          "k": "step",
          "deltaMs": -3600913
        },
        {
          "k": "advance",
          "ms": 182
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 7
          }
        },
        {
          "k": "advance",
          "ms": 293
        },
        {
          "k": "op",
          "op": {
            "op": "cron",
            "name": "b",
            "expr": "* * * * *",
            "opts": {
              "id": "s1",
              "onDuplicate": "reject"
            }
          }
        },
        {
          "k": "restart"
        },
        {
          "k": "op",
          "op": {
            "op": "in",
            "name": "c",
            "delay": 144,
            "opts": {
              "retry": {
                "maxRetries": 2,
                "backoff": {
                  "type": "fixed",
                  "delay": 1000
                }
              },
              "timeout": 2000,
              "priority": 1,
              "group": "g0",
              "dedupe": {
                "key": "k1",
                "ttlMs": 60000,
                "mode": "debounce"
              }
            }
          }
        },
        {
          "k": "advance",
          "ms": 30506
        },
        {
          "k": "advance",
          "ms": 5294
        },
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": {
            "calls": 35,
            "side": "after"
          },
          "downMs": 3600000
        },
        {
          "k": "advance",
          "ms": 30048
        },
        {
          "k": "step",
          "deltaMs": 3600000
        }
      ]
    }
  },
  {
    "name": "harness: an every-5 min schedule created while the disk refused writes (the store stopped writing, the call's outcome unknown, its bytes pending); a -1 h 41 ms step the stopped store could not apply to a record it did not hold; a power cut kept the bytes and the next process ran the schedule on the grid it was created on, which the model, having moved the grid by the step, called off its grid (a harness gap, fixed in test/sim/model.ts)",
    "gap": "rebase",
    "todo": "issue 13.5 / SPEC §4: clock steps re-base elapsed-time due times; seed 299701281 of npm run sim -- --minutes 45 --jobs 1 --from 299600000",
    "invariant": "slotOnce",
    "scenario": {
      "seed": 299701281,
      "store": "json",
      "t0": 1799753483000,
      "zones": [
        "Asia/Kolkata",
        "UTC"
      ],
      "concurrency": 10,
      "keepCompleted": 1000,
      "keepDead": 1000,
      "fsync": true,
      "dirExists": true,
      "latency": [
        2,
        2,
        2,
        1
      ],
      "handlers": [
        {
          "name": "a",
          "concurrency": 3,
          "rateLimit": {
            "max": 2,
            "durationMs": 200
          }
        },
        {
          "name": "b",
          "concurrency": 1,
          "rateLimit": {
            "max": 3,
            "durationMs": 5000
          }
        },
        {
          "name": "c",
          "timeout": 3000
        }
      ],
      "steps": [
        {
          "k": "fault",
          "fault": "ENOSPC",
          "after": 10
        },
        {
          "k": "step",
          "deltaMs": -60797
        },
        {
          "k": "fault",
          "fault": "EIO",
          "after": 2
        },
        {
          "k": "op",
          "op": {
            "op": "every",
            "name": "a",
            "interval": 300000,
            "opts": {
              "id": "s0",
              "retry": {
                "maxRetries": 0,
                "backoff": {
                  "type": "fixed",
                  "delay": 0
                }
              },
              "timeout": 500,
              "group": {
                "id": "g1",
                "concurrency": 2
              }
            }
          }
        },
        {
          "k": "step",
          "deltaMs": -3600041
        },
        {
          "k": "advance",
          "ms": 300036
        },
        {
          "k": "crash",
          "mode": "power-prefix",
          "at": {
            "calls": 23,
            "side": "after"
          },
          "downMs": 60000
        },
        {
          "k": "advance",
          "ms": 3600143
        }
      ]
    }
  },
];
