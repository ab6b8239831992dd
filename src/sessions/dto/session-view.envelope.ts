import { ApiProperty } from '@nestjs/swagger';
import { EnvelopeFieldsDto, ErrorEnvelopeDto } from '../../common/envelope';
import { SESSION_ENDED_REASONS, SESSION_STATUSES } from '../session.types';

export class SessionDto {
  @ApiProperty({ format: 'uuid' }) session_id: string;
  @ApiProperty({ type: String, nullable: true, description: "The caller's id, echoed" }) id: string | null;
  @ApiProperty({ enum: SESSION_STATUSES, description: 'busy: a call is waiting or running' }) status: string;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time', description: 'When a call last started or ended' }) last_used_at: string;
  @ApiProperty({
    type: String,
    nullable: true,
    format: 'date-time',
    description: 'When it ends if left idle (idle TTL or maximum lifetime, the earlier); for an ended session, its end',
  })
  expires_at: string | null;
  @ApiProperty({ description: 'Calls that ran to their end in it' }) executions: number;
  @ApiProperty({ description: 'Memory bound of the whole interpreter (MEMORY_LIMIT_MB)' }) memory_limit_mb: number;
  @ApiProperty({
    type: String,
    enum: SESSION_ENDED_REASONS,
    nullable: true,
    description: 'Why it ended; null while it is alive',
  })
  ended_reason: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) ended_at: string | null;
}

export class SessionListDto {
  @ApiProperty({ type: [SessionDto] }) sessions: SessionDto[];
  @ApiProperty({ description: "All the caller's sessions (alive, and ended within the last hour)" }) total: number;
}

export class SessionEnvelopeDto extends EnvelopeFieldsDto {
  @ApiProperty({ type: SessionDto }) response: SessionDto;
}

export class SessionListEnvelopeDto extends EnvelopeFieldsDto {
  @ApiProperty({ type: SessionListDto }) response: SessionListDto;
}

/** 410 SESSION_GONE: why the session ended. */
export class SessionGoneEnvelopeDto extends ErrorEnvelopeDto {
  @ApiProperty({
    enum: SESSION_ENDED_REASONS,
    enumName: 'SessionEndedReason',
    example: 'expired',
    description: 'Why the session ended',
  })
  ended_reason: string;
}
