import { createHash, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';

const keyIdHexChars = 16;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Knows which API keys are valid while holding only their SHA-256 hashes. */
@Injectable()
export class ApiKeyStore {
  private readonly hashes: readonly Buffer[];

  constructor(config: AppConfig) {
    this.hashes = config.apiKeys.map(sha256);
  }

  /** The key id (first 16 hex chars of its SHA-256) of a valid key, else null. */
  identify(presented: string | null | undefined): string | null {
    if (!presented) return null;
    const hash = sha256(presented);
    let matched = false;
    // Every stored hash is compared, so timing reveals neither which key matched nor how many bytes did.
    for (const stored of this.hashes) {
      matched = timingSafeEqual(stored, hash) || matched;
    }
    return matched ? hash.toString('hex').slice(0, keyIdHexChars) : null;
  }
}
