import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';

/**
 * The `score.v1.Score` gRPC service, as a protobuf JSON descriptor (what a score.proto would
 * compile to):
 *   service Score { rpc Set(SetRequest) returns (SetReply); }
 *   message SetRequest { int32 id = 1; int32 number = 2; }
 *   message SetReply { int32 score = 1; }
 */
const DESCRIPTOR = {
  nested: {
    score: {
      nested: {
        v1: {
          nested: {
            Score: { methods: { Set: { requestType: 'SetRequest', responseType: 'SetReply' } } },
            SetRequest: { fields: { id: { type: 'int32', id: 1 }, number: { type: 'int32', id: 2 } } },
            SetReply: { fields: { score: { type: 'int32', id: 1 } } },
          },
        },
      },
    },
  },
};

export interface SetRequest {
  id: number;
  number: number;
}
export interface SetReply {
  score: number;
}

type ScoreClient = grpc.Client & {
  Set(request: SetRequest, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, reply?: SetReply) => void): void;
};

const loaded = grpc.loadPackageDefinition(fromJSON(DESCRIPTOR as Parameters<typeof fromJSON>[0], { defaults: true })) as unknown as {
  score: { v1: { Score: grpc.ServiceClientConstructor } };
};

export const scoreService = loaded.score.v1.Score.service;

/** A Score client that talks to `authority` through the proxy at `proxyAddress` (cleartext HTTP/2). */
export function scoreClient(proxyAddress: string, authority: string): ScoreClient {
  return new loaded.score.v1.Score(proxyAddress, grpc.credentials.createInsecure(), {
    'grpc.default_authority': authority,
  }) as unknown as ScoreClient;
}
