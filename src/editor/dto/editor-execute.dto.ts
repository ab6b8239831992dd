import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsNumber, IsOptional, IsPositive, IsString, Max } from 'class-validator';

/** POST /api/v1/python/execute. Absent or empty `code` is MISSING_FIELD; any other bad field is INVALID_REQUEST. */
export class EditorExecuteDto {
  /** Python source to run as a fresh module; a top-level `return x`, or a trailing expression, becomes `result`. */
  @IsString()
  code: string;

  /** Wall-clock seconds, more than 0 and at most 300 (default 30; values above MAX_TIMEOUT are lowered to it). */
  @ApiPropertyOptional({ minimum: 0, exclusiveMinimum: true, maximum: 300, example: 10 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(300)
  timeout?: number;

  /** `true` answers 202 at once with the job_id; poll GET /api/v1/python/job?id=. */
  @IsOptional()
  @IsBoolean()
  async?: boolean;
}
